"""A workspace's routing rules: the ``routing_rules`` table, :class:`RulesService` (``/api/routing/rules``)
and the rules every tier reads (:meth:`RulesService.rules_for`).

A rule sends a message to one agent when every condition it sets holds (the rules tier,
:mod:`automatos.extensions.routing.rules`): ``source`` (a glob over the request's source),
``channel`` (equality), ``keywords`` (any of them, a whole word or phrase of the normalised text)
and ``regex`` (searched in the message's first 4,096 characters). ``intent_keywords`` are not a
condition: the intent tier (:mod:`automatos.extensions.routing.intent`) scores agents by them, so a
rule with only intent keywords feeds that tier and never decides in the rules tier.

Rules kept here, not in the handler:
- a rule sets at least one of ``source``, ``channel``, ``keywords``, ``regex``, ``intent_keywords``
  (422 naming ``keywords``); blank strings count as unset;
- ``regex`` is compiled by :func:`automatos.kernel.patterns.compile_safe` — RE2 when installed
  (linear time), else Python's ``re`` refusing the shapes that backtrack — 422 naming ``regex``
  with the reason;
- keywords: at most 100, each 1-100 characters and something left once normalised
  (:func:`automatos.routing.normalize.normalize`); the tiers get them normalised;
- ``agent_id`` names an *active* agent of the workspace, by id or slug (stored by id; 422 naming
  ``agent_id``); priority is an integer in ``[-10000, 10000]``, higher first;
- every write is audited in its transaction (``routing_rule.created|updated|deleted``) and, after
  the commit, published on the kernel bus (``routing``, with the workspace id): every node drops
  its copy of the workspace's rules, the router its other per-workspace caches.

:meth:`RulesService.rules_for` answers the workspace's active rules, priority first, from a cache
per workspace that a bus message drops and that is re-read after ``AUTOMATOS_RECHECK_SECONDS``
anyway (a lost message); an unchanged re-read keeps the very same tuple, so the tiers' compiled
forms (keyed on it) stay warm. A stored regex the engine no longer runs (RE2 removed) is left out
of the answer, with a warning.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, UnsetType
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from automatos.agents import models as am
from automatos.kernel.db.base import Base, JSONType, created_at_column, updated_at_column, uuid_pk
from automatos.kernel.db.queries import lookable, page
from automatos.kernel.errors import NotFoundError, ValidationError
from automatos.kernel.patterns import MAX_PATTERN_LENGTH, UnsafePattern, compile_safe
from automatos.kernel.store import KernelStore
from automatos.kernel.types import RoutingRule
from automatos.kernel.validation import not_blank
from automatos.routing.normalize import normalize

__all__ = [
    "MAX_PRIORITY",
    "RoutingRuleRow",
    "RuleCreate",
    "RuleRecord",
    "RuleUpdate",
    "RulesService",
]

log = logging.getLogger("automatos.routing.rules")

MAX_PRIORITY = 10_000
"""Priorities are integers in ``[-MAX_PRIORITY, MAX_PRIORITY]``."""
BUS_CHANNEL = "routing"

RuleName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Priority = Annotated[int, msgspec.Meta(ge=-MAX_PRIORITY, le=MAX_PRIORITY, description="Higher first.")]
AgentRef = Annotated[str, msgspec.Meta(min_length=1, max_length=100, description="An active agent: id or slug.")]
Glob = Annotated[str, msgspec.Meta(max_length=200, description="A glob (fnmatch) over the request's source.")]
Channel = Annotated[str, msgspec.Meta(max_length=200)]
Keyword = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Keywords = Annotated[list[Keyword], msgspec.Meta(max_length=100)]
Regex = Annotated[
    str, msgspec.Meta(max_length=MAX_PATTERN_LENGTH, description="RE2 syntax (no backreferences, no lookaround).")
]


class RoutingRuleRow(Base):
    """One rule of a workspace (tenant data: every query names ``workspace_id``)."""

    __tablename__ = "routing_rules"
    __table_args__ = (Index("ix_routing_rules_workspace_active_priority", "workspace_id", "active", "priority"),)

    id: Mapped[str] = uuid_pk()
    workspace_id: Mapped[str] = mapped_column(String(36), ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    agent_id: Mapped[str] = mapped_column(String(36))
    """A plain string: an agent archived later leaves its rules inert (``rules_for`` skips them)."""
    source: Mapped[str | None] = mapped_column(String(200))
    keywords: Mapped[list[str]] = mapped_column(JSONType, default=list)
    regex: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(String(200))
    intent_keywords: Mapped[list[str]] = mapped_column(JSONType, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str | None] = mapped_column(String(64))
    updated_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class RuleCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: RuleName
    agent_id: AgentRef
    priority: Priority = 0
    source: Glob | None = None
    channel: Channel | None = None
    keywords: Keywords = []
    """Any of them, as a whole word (or phrase) of the normalised message."""
    regex: Regex | None = None
    intent_keywords: Keywords = []
    """What the intent tier scores agents by (not a condition of the rules tier)."""
    active: bool = True


class RuleUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Only the fields present change; ``null`` clears ``source``, ``channel`` or ``regex``."""

    name: RuleName | UnsetType = UNSET
    agent_id: AgentRef | UnsetType = UNSET
    priority: Priority | UnsetType = UNSET
    source: Glob | UnsetType | None = UNSET
    channel: Channel | UnsetType | None = UNSET
    keywords: Keywords | UnsetType = UNSET
    regex: Regex | UnsetType | None = UNSET
    intent_keywords: Keywords | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class RuleRecord(msgspec.Struct, kw_only=True):
    id: str
    workspace_id: str
    name: str
    priority: int
    agent_id: str
    source: str | None
    channel: str | None
    keywords: list[str]
    regex: str | None
    intent_keywords: list[str]
    active: bool
    created_by: str | None
    updated_by: str | None
    created_at: datetime
    updated_at: datetime


_FIELDS = ("name", "agent_id", "priority", "source", "channel", "keywords", "regex", "intent_keywords", "active")
_CONDITIONS = ("source", "channel", "keywords", "regex", "intent_keywords")


def _record(row: RoutingRuleRow) -> RuleRecord:
    return RuleRecord(
        id=row.id,
        workspace_id=row.workspace_id,
        name=row.name,
        priority=row.priority,
        agent_id=row.agent_id,
        source=row.source,
        channel=row.channel,
        keywords=list(row.keywords or []),
        regex=row.regex,
        intent_keywords=list(row.intent_keywords or []),
        active=row.active,
        created_by=row.created_by,
        updated_by=row.updated_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _blank_to_none(value: str | None) -> str | None:
    return value if value is not None and value.strip() else None


def _keywords(values: Sequence[str], field: str) -> list[str]:
    for value in values:
        if not normalize(value):
            raise ValidationError(
                f"{field}: {value[:100]!r} has no letter or digit (keywords match the normalised text)", field=field
            )
    return list(dict.fromkeys(v.strip() for v in values))


def _check_regex(regex: str | None) -> None:
    if regex is None:
        return
    try:
        compile_safe(regex)
    except UnsafePattern as exc:
        raise ValidationError(f"regex: {exc.reason}", field="regex") from None


def _check_conditions(row: RoutingRuleRow) -> None:
    if not any(getattr(row, name) for name in _CONDITIONS):
        raise ValidationError(
            "a rule needs at least one condition: source, channel, keywords, regex (or intent_keywords)",
            field="keywords",
        )


def _rule(row: RoutingRuleRow) -> RoutingRule:
    """The kernel's view of a row: keywords normalised (what the tiers match against)."""
    return RoutingRule(
        id=row.id,
        agent_id=row.agent_id,
        priority=row.priority,
        source=row.source,
        channel=row.channel,
        keywords=tuple(dict.fromkeys(k for k in map(normalize, row.keywords or []) if k)),
        regex=row.regex,
        intent_keywords=tuple(dict.fromkeys(k for k in map(normalize, row.intent_keywords or []) if k)),
    )


class RulesService:
    """The routing rules of one database, and this node's cache of each workspace's active rules."""

    def __init__(self, kernel: Any, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.kernel = kernel
        self.sessionmaker = kernel.store.sessionmaker
        self.clock = clock
        self.recheck_seconds = float(kernel.settings.recheck_seconds)
        """How long a workspace's rules are kept without a bus message (``AUTOMATOS_RECHECK_SECONDS``)."""
        self._cache: dict[str, tuple[float, list[RoutingRule]]] = {}
        kernel.subscribe(BUS_CHANNEL, self.on_message)

    # -- reading ---------------------------------------------------------------------------------

    async def list_rules(
        self,
        workspace_id: str,
        *,
        active: bool | None = None,
        agent_id: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[list[RuleRecord], int]:
        """A page of the workspace's rules, highest priority first."""
        query = select(RoutingRuleRow).where(RoutingRuleRow.workspace_id == workspace_id)
        if active is not None:
            query = query.where(RoutingRuleRow.active == active)
        if agent_id is not None:
            query = query.where(RoutingRuleRow.agent_id == agent_id)
        query = query.order_by(RoutingRuleRow.priority.desc(), RoutingRuleRow.created_at, RoutingRuleRow.id)
        async with self.sessionmaker() as session:
            rows, total = await page(session, query, offset, limit)
        return [_record(r) for r in rows], total

    async def get_rule(self, workspace_id: str, rule_id: str) -> RuleRecord:
        async with self.sessionmaker() as session:
            return _record(await self._row(session, workspace_id, rule_id))

    async def rules_for(self, workspace_id: str) -> list[RoutingRule]:
        """The workspace's active rules whose agent is active, highest priority first (cached)."""
        now = self.clock()
        cached = self._cache.get(workspace_id)
        if cached is not None and now - cached[0] < self.recheck_seconds:
            return cached[1]
        rules = await self._load(workspace_id)
        if cached is not None and cached[1] == rules:
            rules = cached[1]  # the same object: what tiers compiled from it stays valid
        self._cache[workspace_id] = (now, rules)
        return rules

    async def _load(self, workspace_id: str) -> list[RoutingRule]:
        active_agents = select(am.Agent.id).where(am.Agent.workspace_id == workspace_id, am.Agent.status == "active")
        query = (
            select(RoutingRuleRow)
            .where(
                RoutingRuleRow.workspace_id == workspace_id,
                RoutingRuleRow.active.is_(True),
                RoutingRuleRow.agent_id.in_(active_agents),
            )
            .order_by(RoutingRuleRow.priority.desc(), RoutingRuleRow.created_at, RoutingRuleRow.id)
        )
        async with self.sessionmaker() as session:
            rows = list(await session.scalars(query))
        rules: list[RoutingRule] = []
        for row in rows:
            if row.regex is not None:
                try:
                    compile_safe(row.regex)  # compiled once here (cached), not on the first message
                except UnsafePattern as exc:
                    log.warning("routing rule %s of workspace %s skipped: regex %s", row.id, workspace_id, exc.reason)
                    continue
            rules.append(_rule(row))
        return rules

    def forget(self, workspace_id: str | None = None) -> None:
        """Drop this node's rules of ``workspace_id`` (every workspace's with ``None``)."""
        if workspace_id is None:
            self._cache.clear()
        else:
            self._cache.pop(workspace_id, None)

    def on_message(self, message: dict[str, Any]) -> None:
        """A ``routing`` bus message (a write on some node): drop what it concerns."""
        workspace_id = message.get("workspace_id")
        self.forget(workspace_id if isinstance(workspace_id, str) else None)

    # -- writing ---------------------------------------------------------------------------------

    async def create_rule(
        self, workspace_id: str, data: RuleCreate, *, actor_id: str | None, request_id: str | None = None
    ) -> RuleRecord:
        _check_regex(data.regex)
        async with self.sessionmaker.begin() as session:
            row = RoutingRuleRow(
                workspace_id=workspace_id,
                name=not_blank(data.name),
                priority=data.priority,
                agent_id=await self._agent_id(session, workspace_id, data.agent_id),
                source=_blank_to_none(data.source),
                channel=_blank_to_none(data.channel),
                keywords=_keywords(data.keywords, "keywords"),
                regex=_blank_to_none(data.regex),
                intent_keywords=_keywords(data.intent_keywords, "intent_keywords"),
                active=data.active,
                created_by=actor_id,
                updated_by=actor_id,
            )
            _check_conditions(row)
            session.add(row)
            await session.flush()
            KernelStore._audit(
                session,
                workspace_id,
                actor_id,
                "routing_rule.created",
                "routing_rule",
                row.id,
                {"name": row.name, "agent_id": row.agent_id},
                request_id,
            )
            record = _record(row)
        await self._published(workspace_id)
        return record

    async def update_rule(
        self,
        workspace_id: str,
        rule_id: str,
        data: RuleUpdate,
        *,
        actor_id: str | None,
        request_id: str | None = None,
    ) -> RuleRecord:
        if isinstance(data.regex, str):
            _check_regex(data.regex)
        async with self.sessionmaker.begin() as session:
            row = await self._row(session, workspace_id, rule_id)
            changed: list[str] = []
            for name in _FIELDS:
                value = getattr(data, name)
                if value is UNSET:
                    continue
                if name == "agent_id":
                    value = await self._agent_id(session, workspace_id, value)
                elif name in ("keywords", "intent_keywords"):
                    value = _keywords(value, name)
                elif name in ("source", "channel", "regex"):
                    value = _blank_to_none(value)
                elif name == "name":
                    value = not_blank(value)
                if getattr(row, name) != value:
                    setattr(row, name, value)
                    changed.append(name)
            _check_conditions(row)
            row.updated_by = actor_id
            await session.flush()
            KernelStore._audit(
                session,
                workspace_id,
                actor_id,
                "routing_rule.updated",
                "routing_rule",
                row.id,
                {"fields": changed},
                request_id,
            )
            await session.refresh(row)
            record = _record(row)
        await self._published(workspace_id)
        return record

    async def delete_rule(
        self, workspace_id: str, rule_id: str, *, actor_id: str | None, request_id: str | None = None
    ) -> None:
        async with self.sessionmaker.begin() as session:
            row = await self._row(session, workspace_id, rule_id)
            await session.delete(row)
            KernelStore._audit(
                session,
                workspace_id,
                actor_id,
                "routing_rule.deleted",
                "routing_rule",
                row.id,
                {"name": row.name},
                request_id,
            )
        await self._published(workspace_id)

    async def _published(self, workspace_id: str) -> None:
        """After a commit: forget here at once, and tell every node (the router's caches too)."""
        self.forget(workspace_id)
        try:
            bus = self.kernel.bus
        except RuntimeError:  # not started (a CLI command): the other nodes' re-check catches up
            return
        await bus.publish(BUS_CHANNEL, workspace_id=workspace_id)

    @staticmethod
    async def _row(session: AsyncSession, workspace_id: str, rule_id: str) -> RoutingRuleRow:
        row = None
        if lookable(rule_id):
            row = await session.scalar(
                select(RoutingRuleRow).where(RoutingRuleRow.workspace_id == workspace_id, RoutingRuleRow.id == rule_id)
            )
        if row is None:
            raise NotFoundError(f"routing rule {rule_id[:100]!r} does not exist in this workspace", field="rule_id")
        return row

    @staticmethod
    async def _agent_id(session: AsyncSession, workspace_id: str, ref: str) -> str:
        """The id of the workspace's active agent ``ref`` (id or slug); 422 naming ``agent_id``."""
        agent = None
        if lookable(ref):
            agent = await session.scalar(
                select(am.Agent)
                .where(am.Agent.workspace_id == workspace_id, or_(am.Agent.id == ref, am.Agent.slug == ref))
                .order_by(am.Agent.id != ref)
                .limit(1)
            )
        if agent is None or agent.status != "active":
            state = "does not exist in this workspace" if agent is None else f"is {agent.status}"
            raise ValidationError(
                f"agent_id: agent {ref[:100]!r} {state} (an active agent, by id or slug)", field="agent_id"
            )
        found: str = agent.id
        return found
