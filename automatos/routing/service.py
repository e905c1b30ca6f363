"""The router: :class:`RouterService` runs a workspace's tiers on one message and records the decision.

A route, end to end (``POST /api/route``, ``/api/chat`` without an agent, ``/v1`` ``model: "auto"``):

1. The message is checked: empty (or only whitespace) or longer than ``ROUTING_MAX_MESSAGE_CHARS``
   → 422 naming ``message`` (chat routes on the first that many characters instead); an ``agent``
   the caller names must be an active agent of the workspace → 422 naming ``agent``.
2. The workspace's state comes from a per-workspace cache (``ROUTING_AGENTS_CACHE_SECONDS``, dropped
   at once on every node when the bus carries ``routing`` for it): its routing configuration merged
   over the defaults (:mod:`automatos.routing.config`) and its active agents as
   :class:`~automatos.kernel.types.AgentProfile` (text: name, description, persona, skills,
   instructions) — one session, four queries, none on a hit.
3. The tiers are the workspace's ``register_routing_tiers`` (collected once per hook view), ordered by
   the configuration's ``tiers.<name>.order`` (else the tier's own), those with ``enabled: false``
   left out. Each runs within its time limit (``tiers.<name>.timeout``, else
   ``ROUTING_TIER_TIMEOUT_SECONDS``) and leaves ``{tier, outcome, score, ms}`` in the explanation:
   ``decided``, ``shortlist`` (it narrowed ``request.shortlist`` for the tiers after it), ``pass``,
   ``skipped`` (it needs a backend that is down: a tier's optional ``requires``, e.g. ``("kv",)``),
   ``error`` (it raised, answered something else, or named an agent that is not active here: no
   decision) or ``timeout``. The first decision wins.
4. A decision by any tier but ``cache`` and ``override`` is handed to the tiers that remember
   decisions (an optional ``async remember(request, decision, context)``: the cache tier writes it to
   the KV cache; a failure is logged and skipped).
5. Nothing decided → ``route_type: "unrouted"``: the workspace's default agent (``default_agent`` of
   its configuration), if set and active, answers (``agent_id`` is it, the route type stays
   ``unrouted``).
6. The decision is recorded (:mod:`automatos.routing.records`: batched, off the request path — a
   route holds no database connection for it, and none at all on a warm cache).

Size (~620 lines): the cascade, the per-workspace state cache it reads and the configuration writes
that invalidate that cache belong together; the context, records, configuration schema, rules and
normalisation already live in modules of their own.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import CoroutineType
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from automatos.agents import models as am
from automatos.kernel.errors import ValidationError
from automatos.kernel.faults import FailOpen
from automatos.kernel.hooks import resume
from automatos.kernel.store import KernelStore
from automatos.kernel.types import AgentProfile, RouteDecision, RouteShortlist, RoutingRequest, RoutingTier, Workspace
from automatos.routing.config import check_config, merged
from automatos.routing.context import Context, GuardedKV, RulesSource
from automatos.routing.models import RoutingConfigRow
from automatos.routing.normalize import normalize, text_digest
from automatos.routing.records import DecisionRecorder, PendingDecision, UnroutedEvent, read_config, unrouted_page
from automatos.routing.settings import RoutingSettings

if TYPE_CHECKING:
    from automatos.agents.service import AgentService
    from automatos.kernel.core import Kernel
    from automatos.llm.providers import ProviderResolver

__all__ = ["ConfigRecord", "RouteResult", "RouterService", "TierInfo", "TierOutcome"]

log = logging.getLogger("automatos.routing")

NO_REMEMBER = frozenset({"cache", "override"})
"""Tiers whose decisions are not written to the decision cache (it came from there, or was named)."""
MAX_LABEL_CHARS = 200
"""``source`` and ``channel`` are labels, not payloads."""


class TierOutcome(msgspec.Struct, kw_only=True):
    tier: str
    outcome: str
    """``decided``, ``shortlist``, ``pass``, ``skipped``, ``error`` or ``timeout``."""
    score: float | None = None
    ms: float = 0.0
    threshold: float | None = None
    """The ``threshold`` of the tier's configuration (calibrated or set), when it has one."""
    note: str | None = None
    """Why a tier passed, when it said (an empty shortlist's ``reason``: the LLM's answer was not JSON…)."""


_OUTCOMES = msgspec.json.Encoder()
"""A decision row's ``explanation``: the route's rows as JSON text, ``{tier, outcome, score, ms,
threshold, note}`` each."""


class RouteResult(msgspec.Struct, kw_only=True):
    agent_id: str | None
    agent_slug: str | None
    confidence: float
    route_type: str
    """``agent``, ``orchestrate`` or ``unrouted`` (the default agent, if any, answers an unrouted one)."""
    tier: str | None
    """The tier that decided (``null`` when none did)."""
    reason: str = ""
    explanation: list[TierOutcome] = []
    cache_hit: bool = False


class TierInfo(msgspec.Struct, kw_only=True):
    name: str
    order: int
    enabled: bool


class ConfigRecord(msgspec.Struct, kw_only=True):
    tiers: dict[str, dict[str, Any]]
    """Every tier's settings, the defaults merged in."""
    default_agent: str | None
    version: int
    """Bumped by every write (0: never written)."""
    registered: list[TierInfo]
    """The tiers this workspace has, in the order they run."""
    calibration: dict[str, Any] | None = None
    """What the last calibration fitted (``automatos.routing.calibration``), if any."""


@dataclass(frozen=True)
class _State:
    expires: float
    config: dict[str, Any]
    stored: dict[str, Any]
    version: int
    profiles: tuple[AgentProfile, ...]
    by_id: dict[str, AgentProfile]
    by_ref: dict[str, AgentProfile]


_NOTHING = object()


def _clean(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else value


class RouterService:
    """Routes messages to a workspace's agents through its tiers; the routing configuration's owner."""

    def __init__(
        self,
        kernel: Kernel,
        agents: AgentService,
        providers: ProviderResolver,
        *,
        rules: RulesSource | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.kernel = kernel
        self.sessionmaker = kernel.store.sessionmaker
        self.agents = agents
        self.providers = providers
        self.rules = rules
        self.clock = clock
        self.recorder = DecisionRecorder(self.sessionmaker, kernel.spawn)
        self.kv_guard = FailOpen("the routing decision cache", log, retry_seconds=5.0, then="skipping it")
        self._states: dict[str, _State] = {}
        self._tiers: dict[str, tuple[object, object, list[RoutingTier]]] = {}
        self._kv: tuple[object, GuardedKV] | None = None
        kernel.subscribe("routing", self._on_routing)
        agents.on_change(self.invalidate)  # this node drops a workspace's agents at once after a write

    # --- caches -------------------------------------------------------------------------------

    def _on_routing(self, message: dict[str, Any]) -> None:
        workspace_id = message.get("workspace_id")
        if isinstance(workspace_id, str):
            self.invalidate(workspace_id)

    def invalidate(self, workspace_id: str) -> None:
        """Forget a workspace's cached configuration and agents (read again on its next route)."""
        self._states.pop(workspace_id, None)

    def settings(self) -> RoutingSettings:
        """The routing settings in force (``ROUTING_*``)."""
        return self._settings()

    def _settings(self) -> RoutingSettings:
        return self.kernel.current_settings.group(RoutingSettings)

    async def _state(self, workspace: Workspace, own: RoutingSettings) -> _State:
        now = self.clock()
        state = self._states.get(workspace.id)
        if state is not None and now < state.expires:
            return state
        state = await self._load(workspace.id, own, now)
        if len(self._states) > 10_000:
            self._states.clear()
        self._states[workspace.id] = state
        return state

    async def _load(self, workspace_id: str, own: RoutingSettings, now: float) -> _State:
        async with self.sessionmaker() as session:
            stored, version = await read_config(session, workspace_id)
            rows = list(
                await session.scalars(
                    select(am.Agent)
                    .where(am.Agent.workspace_id == workspace_id, am.Agent.status == "active")
                    .order_by(am.Agent.slug)
                )
            )
            personas = await self.agents.personas.by_id(
                session, workspace_id, {r.persona_id for r in rows if r.persona_id}
            )
            skills = await self.agents.skills.by_id(
                session, workspace_id, {s for r in rows for s in (r.skill_ids or [])}
            )
        config = merged(stored)
        config["tiers"]["cache"].setdefault("ttl_hours", own.routing_cache_ttl_hours)
        config["tiers"]["llm"].setdefault("threshold", own.routing_llm_confidence_threshold)
        default = config.get("default_agent")
        profiles = tuple(
            AgentProfile(
                id=r.id, slug=r.slug, name=r.name, text=_profile_text(r, personas, skills), is_default=r.id == default
            )
            for r in rows
        )
        by_id = {p.id: p for p in profiles}
        by_ref = {**{p.slug: p for p in profiles}, **by_id}
        expires = now + own.routing_agents_cache_seconds
        return _State(expires, config, stored, version, profiles, by_id, by_ref)

    async def _ordered(self, workspace: Workspace, config: Mapping[str, Any]) -> list[RoutingTier]:
        view = await self.kernel.view_for(workspace)
        hit = self._tiers.get(workspace.id)
        if hit is not None and hit[0] is view and hit[1] is config:
            return hit[2]
        registered = await self.kernel.hooks.routing_tiers(view, workspace)
        tiers = config.get("tiers", {})
        enabled = [t for t in registered if tiers.get(t.name, {}).get("enabled", True) is not False]
        ordered = sorted(enabled, key=lambda t: (tiers.get(t.name, {}).get("order", t.order), t.name))
        if len(self._tiers) > 10_000:
            self._tiers.clear()
        self._tiers[workspace.id] = (view, config, ordered)
        return ordered

    def _kv_for_context(self) -> GuardedKV | None:
        if self.kv_guard.down:
            return None
        try:
            inner = self.kernel.backends.kv
        except RuntimeError:  # the kernel is not started (a CLI command): no cache
            return None
        if self._kv is None or self._kv[0] is not inner:
            self._kv = (inner, GuardedKV(inner, self.kv_guard))
        return self._kv[1]

    def vectors(self) -> Any:
        """The platform's vector backend, or ``None`` when the kernel is not started."""
        try:
            return self.kernel.backends.vectors
        except RuntimeError:
            return None

    # --- routing ------------------------------------------------------------------------------

    async def route(
        self,
        workspace: Workspace,
        text: str,
        *,
        agent: str | None = None,
        source: str | None = None,
        channel: str | None = None,
        record: bool = True,
        field: str = "message",
        truncate: bool = False,
        dry_run: bool = False,
        without: Collection[str] = (),
    ) -> RouteResult:
        """Choose the agent for ``text`` (see the module docstring). ``field`` names the input in a
        422; ``truncate`` routes on the beginning of a message that is too long instead of refusing it.
        ``dry_run`` (evaluation, calibration): nothing recorded, nothing remembered, the decision cache
        not asked; ``without``: tiers left out of this route (``automatos route eval`` leaves out ``llm``)."""
        own = self._settings()
        if not text.strip():
            raise ValidationError("the message is empty", field=field)
        limit = own.routing_max_message_chars
        if len(text) > limit:
            if not truncate:
                raise ValidationError(f"the message is {len(text)} characters; at most {limit} are routed", field=field)
            text = text[:limit]
        for name, label in (("source", source), ("channel", channel)):
            if label is not None and not 1 <= len(label) <= MAX_LABEL_CHARS:
                raise ValidationError(f"{name} is 1-{MAX_LABEL_CHARS} characters", field=name)
        started = time.perf_counter()
        state = await self._state(workspace, own)
        if agent is not None and agent not in state.by_ref:
            raise ValidationError(
                f"agent {agent[:100]!r} is not an active agent of this workspace (an id or a slug)", field="agent"
            )
        request = RoutingRequest(
            workspace_id=workspace.id,
            text=text,
            normalized=normalize(text),
            source=source,
            channel=channel,
            agent=agent,
        )
        context = self._context(workspace, own, state)
        tiers = await self._ordered(workspace, state.config)
        if dry_run or without:
            left_out = {*without, *(("cache",) if dry_run else ())}
            tiers = [t for t in tiers if t.name not in left_out]
        explanation: list[TierOutcome] = []
        decision, decided_by, request = await self._cascade(tiers, request, context, state, own, explanation)
        if not dry_run and decision is not None and decided_by is not None and decided_by.name not in NO_REMEMBER:
            await self._remember(tiers, request, decision, context)
        tier_config = state.config["tiers"]
        for row in explanation:
            value = tier_config.get(row.tier, {}).get("threshold")
            if isinstance(value, int | float) and not isinstance(value, bool):
                row.threshold = float(value)
        result = self._result(decision, decided_by, state, explanation)
        total_ms = (time.perf_counter() - started) * 1000
        if record and not dry_run:
            self._record(workspace, request, result, own, total_ms)
        return result

    async def _cascade(
        self,
        tiers: Sequence[RoutingTier],
        request: RoutingRequest,
        context: Context,
        state: _State,
        own: RoutingSettings,
        explanation: list[TierOutcome],
    ) -> tuple[RouteDecision | None, RoutingTier | None, RoutingRequest]:
        tier_config = state.config.get("tiers", {})
        for tier in tiers:
            name = tier.name
            t0 = time.perf_counter()
            requires = getattr(tier, "requires", ())
            if requires and any(getattr(context, need, None) is None for need in requires):
                explanation.append(TierOutcome(tier=name, outcome="skipped", ms=0.0))
                continue
            limit: asyncio.Timeout | None = None
            outcome = "pass"
            answer: Any = None
            try:
                pending: Any = _NOTHING
                value = tier.route(request, context)
                if type(value) is CoroutineType:
                    # one step first: a tier that answers without waiting (a cache hit on the memory
                    # backend, a rule) needs no timer — the timer is most of such a tier's cost
                    try:
                        pending = value.send(None)
                    except StopIteration as done:
                        answer = done.value
                    else:
                        value = resume(value, pending)
                if pending is not _NOTHING or type(value) is not CoroutineType:
                    seconds = float(tier_config.get(name, {}).get("timeout", own.routing_tier_timeout_seconds))
                    limit = asyncio.timeout(seconds)
                    async with limit:
                        answer = await value
            except TimeoutError:
                outcome = "timeout" if limit is not None and limit.expired() else "error"
            except Exception as exc:
                if "kv" in requires and self.kv_guard.down:
                    outcome = "skipped"
                else:
                    outcome = "error"
                    log.warning("routing tier %s failed: %s: %s", name, type(exc).__name__, exc)
            ms = round((time.perf_counter() - t0) * 1000, 3)
            if outcome != "pass":
                explanation.append(TierOutcome(tier=name, outcome=outcome, ms=ms))
                continue
            if isinstance(answer, RouteDecision):
                checked = self._checked(answer, state, name)
                if checked is None:
                    explanation.append(TierOutcome(tier=name, outcome="error", score=_clean(answer.confidence), ms=ms))
                    continue
                explanation.append(TierOutcome(tier=name, outcome="decided", score=checked.confidence, ms=ms))
                return checked, tier, request
            if isinstance(answer, RouteShortlist):
                ids = tuple(dict.fromkeys(p.id for a in answer.agent_ids if (p := state.by_ref.get(a)) is not None))
                if request.shortlist:
                    ids = tuple(a for a in ids if a in request.shortlist)
                if ids:
                    request = msgspec.structs.replace(request, shortlist=ids)
                    top = max((s for s in answer.scores if _clean(s) is not None), default=None)
                    explanation.append(TierOutcome(tier=name, outcome="shortlist", score=top, ms=ms))
                    continue
                note = answer.reason[:300] if isinstance(answer.reason, str) and answer.reason else None
                explanation.append(TierOutcome(tier=name, outcome="pass", ms=ms, note=note))
                continue
            explanation.append(TierOutcome(tier=name, outcome="pass" if answer is None else "error", ms=ms))
        return None, None, request

    @staticmethod
    def _checked(answer: RouteDecision, state: _State, tier: str) -> RouteDecision | None:
        """The decision with the agent's id and a sane confidence, or ``None`` when it is no decision."""
        confidence = _clean(float(answer.confidence)) if isinstance(answer.confidence, int | float) else None
        if confidence is None:
            return None
        confidence = min(1.0, max(0.0, confidence))
        if answer.route_type == "agent":
            profile = state.by_ref.get(answer.agent_id) if isinstance(answer.agent_id, str) else None
            if profile is None:
                return None  # an agent that is not active here (or another workspace's): no decision
            return RouteDecision(
                agent_id=profile.id, confidence=confidence, tier=tier, reason=answer.reason, route_type="agent"
            )
        if answer.route_type == "orchestrate":
            return RouteDecision(
                agent_id=None, confidence=confidence, tier=tier, reason=answer.reason, route_type="orchestrate"
            )
        return None

    async def _remember(
        self, tiers: Sequence[RoutingTier], request: RoutingRequest, decision: RouteDecision, context: Context
    ) -> None:
        for tier in tiers:
            remember = getattr(tier, "remember", None)
            if remember is None:
                continue
            if any(getattr(context, need, None) is None for need in getattr(tier, "requires", ())):
                continue
            try:
                await remember(request, decision, context)
            except Exception as exc:
                log.info("routing tier %s could not remember a decision: %s", tier.name, type(exc).__name__)

    @staticmethod
    def _result(
        decision: RouteDecision | None, tier: RoutingTier | None, state: _State, explanation: list[TierOutcome]
    ) -> RouteResult:
        if decision is None or tier is None:
            default = state.config.get("default_agent")
            profile = state.by_id.get(default) if isinstance(default, str) else None
            return RouteResult(
                agent_id=profile.id if profile else None,
                agent_slug=profile.slug if profile else None,
                confidence=0.0,
                route_type="unrouted",
                tier=None,
                reason="no tier decided" + ("; the default agent answers" if profile else ""),
                explanation=explanation,
            )
        profile = state.by_id.get(decision.agent_id) if decision.agent_id else None
        return RouteResult(
            agent_id=decision.agent_id,
            agent_slug=profile.slug if profile else None,
            confidence=decision.confidence,
            route_type=decision.route_type,
            tier=tier.name,
            reason=decision.reason,
            explanation=explanation,
            cache_hit=tier.name == "cache",
        )

    def _record(
        self, workspace: Workspace, request: RoutingRequest, result: RouteResult, own: RoutingSettings, total_ms: float
    ) -> None:
        """Queue the decision's row (written in a batch by :class:`DecisionRecorder`). The message
        itself is never kept: its digest, and an excerpt only for an unrouted one when the workspace
        keeps them."""
        excerpt = None
        if result.route_type == "unrouted" and own.routing_unrouted_excerpt_chars:
            excerpt = request.text[: own.routing_unrouted_excerpt_chars]
        self.recorder.add(
            PendingDecision(
                workspace.id,
                self.clock(),
                text_digest(request.normalized),
                excerpt,
                request.source,
                request.channel,
                result.route_type,
                result.tier,
                result.agent_id,
                result.confidence,
                result.reason[:2000],
                _OUTCOMES.encode(result.explanation).decode(),
                result.cache_hit,
                round(total_ms, 3),
            )
        )

    async def remember(self, workspace: Workspace, request: RoutingRequest, decision: RouteDecision) -> bool:
        """Hand ``decision`` for ``request`` to the workspace's tiers that remember (the decision
        cache), as a route does — with the agents as they are now (a correction calls it). Whether a
        tier could keep it (a KV backend that is up and a tier that remembers)."""
        self.invalidate(workspace.id)
        own = self._settings()
        state = await self._state(workspace, own)
        tiers = await self._ordered(workspace, state.config)
        context = self._context(workspace, own, state)
        if context.kv is None or not any(getattr(t, "remember", None) for t in tiers):
            return False
        await self._remember(tiers, request, decision, context)
        return not self.kv_guard.down

    async def context_for(self, workspace: Workspace, *, with_kv: bool = True) -> Context:
        """The routing context a route in ``workspace`` gets (calibration fits with it, ``with_kv=False``;
        a tier's ``remember`` can be called with it)."""
        own = self._settings()
        return self._context(workspace, own, await self._state(workspace, own), with_kv=with_kv)

    def _context(self, workspace: Workspace, own: RoutingSettings, state: _State, *, with_kv: bool = True) -> Context:
        return Context(
            kernel=self.kernel,
            providers=self.providers,
            workspace=workspace,
            config=state.config,
            profiles=state.profiles,
            rules=self.rules,
            kv=self._kv_for_context() if with_kv else None,
            vectors=self.vectors(),
            embedder=own.routing_embedding_provider,
            clock=self.clock,
        )

    async def default_agent(self, workspace: Workspace) -> AgentProfile | None:
        """The workspace's default agent, if it has one and it is active."""
        state = await self._state(workspace, self._settings())
        default = state.config.get("default_agent")
        return state.by_id.get(default) if isinstance(default, str) else None

    async def profiles(self, workspace: Workspace) -> tuple[AgentProfile, ...]:
        """The workspace's active agents as the tiers see them (evaluation and calibration)."""
        return (await self._state(workspace, self._settings())).profiles

    async def stop(self) -> None:
        """Write the decisions still pending (the API's shutdown)."""
        await self.recorder.stop()

    # --- unrouted events and configuration ------------------------------------------------------

    async def unrouted(
        self, workspace_id: str, *, since: datetime | None = None, offset: int = 0, limit: int = 50
    ) -> tuple[list[UnroutedEvent], int]:
        """The workspace's unrouted events, newest first (pending decisions written first)."""
        await self.recorder.flush()
        async with self.sessionmaker() as session:
            return await unrouted_page(session, workspace_id, since=since, offset=offset, limit=limit)

    async def get_config(self, workspace: Workspace) -> ConfigRecord:
        own = self._settings()
        self.invalidate(workspace.id)  # an admin reading it wants what is stored now
        state = await self._state(workspace, own)
        return await self._config_record(workspace, state)

    async def _config_record(self, workspace: Workspace, state: _State) -> ConfigRecord:
        view = await self.kernel.view_for(workspace)
        registered = await self.kernel.hooks.routing_tiers(view, workspace)
        tiers = state.config["tiers"]
        infos = sorted(
            (
                TierInfo(
                    name=t.name,
                    order=int(tiers.get(t.name, {}).get("order", t.order)),
                    enabled=tiers.get(t.name, {}).get("enabled", True) is not False,
                )
                for t in registered
            ),
            key=lambda i: (i.order, i.name),
        )
        return ConfigRecord(
            tiers=tiers,
            default_agent=state.config.get("default_agent"),
            version=state.version,
            registered=infos,
            calibration=state.config.get("calibration"),
        )

    async def set_config(
        self, workspace: Workspace, body: Any, *, actor_id: str | None, request_id: str | None = None
    ) -> ConfigRecord:
        """Replace the workspace's routing configuration (422 naming the field at fault), audited.

        The calibration record (what the last fit found, :mod:`automatos.routing.calibration`) is
        kept when ``body`` does not name ``calibration``: ``PUT /api/routing/config`` replaces the
        tiers and the default agent, not the history of the last fit."""
        stored, reference = check_config(body)
        keep_calibration = isinstance(body, Mapping) and "calibration" not in body
        async with self.sessionmaker.begin() as session:
            default = None
            if reference is not None:
                agent = await session.scalar(
                    select(am.Agent)
                    .where(
                        am.Agent.workspace_id == workspace.id,
                        or_(am.Agent.id == reference, am.Agent.slug == reference),
                        am.Agent.status == "active",
                    )
                    .limit(1)
                )
                if agent is None:
                    raise ValidationError(
                        f"agent {reference[:100]!r} is not an active agent of this workspace", field="default_agent"
                    )
                default = agent.id
            stored["default_agent"] = default
            routes = stored["tiers"].get("triggers", {}).get("routes")
            if routes:
                stored["tiers"]["triggers"]["routes"] = await _agent_ids(session, workspace.id, routes)
            row = await session.get(RoutingConfigRow, workspace.id)
            previous = row.config.get("calibration") if row is not None and isinstance(row.config, dict) else None
            if keep_calibration and isinstance(previous, dict):
                stored["calibration"] = previous
            if row is None:
                row = RoutingConfigRow(workspace_id=workspace.id, config=stored, version=1, updated_by=actor_id)
                session.add(row)
            else:
                row.config = stored
                row.version += 1
                row.updated_by = actor_id
            await session.flush()
            KernelStore._audit(
                session,
                workspace.id,
                actor_id,
                "routing.config.updated",
                "routing_config",
                workspace.id,
                {"tiers": sorted(stored["tiers"]), "default_agent": default},
                request_id,
            )
        self.invalidate(workspace.id)
        if self.kernel.started:
            await self.kernel.bus.publish("routing", workspace_id=workspace.id)
        return await self.get_config(workspace)


async def _agent_ids(session: AsyncSession, workspace_id: str, routes: Mapping[str, str]) -> dict[str, str]:
    """Trigger routes with each agent (id or slug) as the id of an active agent of the workspace;
    422 naming ``tiers.triggers.routes.<key>`` for one that is not."""
    refs = set(routes.values())
    rows = await session.scalars(
        select(am.Agent).where(
            am.Agent.workspace_id == workspace_id,
            or_(am.Agent.id.in_(refs), am.Agent.slug.in_(refs)),
            am.Agent.status == "active",
        )
    )
    by_ref = {ref: row.id for row in rows for ref in (row.id, row.slug)}
    resolved: dict[str, str] = {}
    for key, ref in routes.items():
        if ref not in by_ref:
            raise ValidationError(
                f"agent {ref[:100]!r} is not an active agent of this workspace", field=f"tiers.triggers.routes.{key}"
            )
        resolved[key] = by_ref[ref]
    return resolved


def _profile_text(agent: am.Agent, personas: Mapping[str, Any], skills: Mapping[str, Any]) -> str:
    """What the agent is for, in words: name, description, persona, skills, instructions."""
    parts = [agent.name, agent.description]
    persona = personas.get(agent.persona_id) if agent.persona_id else None
    if persona is not None:
        parts += [persona.name, persona.description, persona.system_prompt]
    for skill_id in agent.skill_ids or []:
        skill = skills.get(skill_id)
        if skill is not None and skill.status != "archived":
            parts += [skill.name, skill.description, skill.instructions]
    parts.append(agent.instructions)
    return "\n".join(p.strip() for p in parts if p and p.strip())
