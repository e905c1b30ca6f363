"""Chat: sessions and messages of a workspace, one turn with an agent (streamed or not), LLM usage.

A turn, end to end:

1. :meth:`ChatService.start_turn` first reads what comes from caches — platform settings, the base
   prompt, the workspace's providers (:meth:`ChatService.turn_settings`) — so that the turn holds
   one database connection at a time (a cold cache read inside the transaction needed a second
   one, and enough concurrent turns exhausted the pool). Then, in one transaction, it checks the
   session (this workspace's, not archived), loads the agent (a paused one answers nothing: 409),
   its persona and skills, the last ``chat.history_limit`` messages, and writes the user's message
   plus an assistant message in state ``streaming``. The provider is the agent's
   (``model_settings.provider``, else ``LLM_PROVIDER``) as the workspace's hook view offers it.
2. :meth:`Turn.stream` (or :meth:`Turn.complete`) calls the provider. No write happens per token:
   deltas are collected in memory and yielded.
3. Whatever ends the turn, one transaction records it: the assistant message's content, status,
   tokens and finish reason, and one ``llm_usage`` row with the cost from the model catalog.
   - finished: ``complete``;
   - the provider failed (or is not enabled here): ``error``, with the problem (provider, kind,
     detail) in ``error``; the caller then gets a 502 problem+json naming the provider (before the
     first token; a 409 naming ``model_settings.provider`` when it is not enabled or configured
     here, kind ``not_enabled``) or an SSE ``error`` event (after it);
   - the consumer went away (client disconnect cancels the stream, or the iterator is closed):
     ``cancelled``, keeping what was produced. The write is shielded from the cancellation.
   Tokens the provider did not report (a cancelled stream) are counted: completion tokens as the
   deltas received, prompt tokens estimated at four characters per token; the usage row says
   ``cancelled`` so estimates are told apart from reported figures. A call that never reached the
   provider (not enabled here, connection refused: ``ProviderError.sent`` is false) is recorded
   with zero tokens and cost 0. The record is not held back by the workspace's share of database
   connections (:func:`~automatos.kernel.db.pool.unmetered`): an admitted turn always gets written.

The system prompt is, in order: the registry's ``agent.base`` (placeholders ``{agent_name}`` and
``{workspace_name}`` substituted, nothing else interpreted), the persona's prompt, each skill's
instructions, the agent's own instructions.

Stateless turns (:meth:`ChatService.start_stateless`, the OpenAI-compatible endpoint) take the
conversation from the caller and persist only usage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Sequence
from datetime import datetime
from typing import Any

import anyio
import msgspec
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import OperationalError

from automatos.agents import models as am
from automatos.agents.records import ModelSettings, from_row, get_agent, model_settings_of
from automatos.agents.runtime import AgentsRuntime, agents_of
from automatos.kernel.db.base import utcnow
from automatos.kernel.db.pool import unmetered
from automatos.kernel.errors import ConflictError, NotFoundError, ProviderError, ValidationError
from automatos.kernel.hooks import Collected
from automatos.kernel.metrics import record_llm_usage
from automatos.kernel.types import ChatMessage, LLMProvider, StreamEvent, Workspace

__all__ = [
    "RECORD_ATTEMPTS",
    "RECORD_RETRY_PAUSE",
    "ChatService",
    "MessageRecord",
    "SessionRecord",
    "Turn",
    "TurnResult",
    "UsageRecord",
    "UsageTotals",
]

log = logging.getLogger("automatos.chat")
RECORD_ATTEMPTS = 5
"""Tries to write a turn's final record while SQLite answers "database is locked" (each try already
waits SQLite's busy timeout)."""
RECORD_RETRY_PAUSE = 0.05
"""Seconds before the second try; doubled for each next one, at most 1 s."""

HISTORY_LIMIT = 50
MAX_MESSAGE_CHARS = 32_000
DEFAULT_TEMPERATURE = 0.7
DEFAULT_MAX_TOKENS = 1024
TITLE_CHARS = 80


class SessionRecord(msgspec.Struct, kw_only=True):
    id: str
    agent_id: str
    title: str
    status: str
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class MessageRecord(msgspec.Struct, kw_only=True):
    id: str
    session_id: str
    role: str
    content: str
    status: str
    error: dict[str, Any] | None
    provider: str | None
    model: str | None
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str | None
    created_at: datetime


class UsageRecord(msgspec.Struct, kw_only=True):
    id: str
    agent_id: str | None
    session_id: str | None
    message_id: str | None
    provider: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost: float
    status: str
    created_at: datetime


class UsageTotals(msgspec.Struct, kw_only=True):
    calls: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost: float


class TurnResult(msgspec.Struct, kw_only=True):
    text: str
    provider: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    cost: float
    status: str
    message_id: str | None
    session_id: str | None
    user_message_id: str | None

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def _fill(template: str, **values: str) -> str:
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template


def _estimate_tokens(messages: Sequence[ChatMessage]) -> int:
    return sum(len(m.content) for m in messages) // 4 + len(messages)


class TurnSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What a turn reads from the platform settings and the prompt registry, read before its session."""

    max_message_chars: int
    history_limit: int
    title_chars: int
    temperature: float | None
    max_tokens: int
    base_prompt: str
    """The registry's ``agent.base`` (empty when it is missing)."""


def _check_active(agent: am.Agent, field: str) -> None:
    if agent.status == "paused":
        raise ConflictError(
            f"agent {agent.slug!r} is paused: it does not answer until its status is set back to active",
            field=field,
        )


class Turn:
    """One call of an agent's provider, and the record of how it ended (see the module docstring)."""

    def __init__(
        self,
        service: ChatService,
        *,
        workspace: Workspace,
        agent: am.Agent,
        provider_name: str,
        provider: LLMProvider | None,
        model: str,
        options: dict[str, Any],
        messages: list[ChatMessage],
        request_id: str | None,
        session_id: str | None = None,
        user_message_id: str | None = None,
        message_id: str | None = None,
    ) -> None:
        self.service = service
        self.workspace = workspace
        self.agent_id = agent.id
        self.agent_slug = agent.slug
        self.provider_name = provider_name
        self.provider = provider
        self.model = model
        self.options = options
        self.messages = messages
        self.request_id = request_id
        self.session_id = session_id
        self.user_message_id = user_message_id
        self.message_id = message_id
        self.result: TurnResult | None = None

    def _provider(self) -> LLMProvider:
        if self.provider is None:
            raise ProviderError(  # the workspace's configuration, not an upstream failure: a 409
                self.provider_name,
                "not_enabled",
                "this provider is not enabled or not configured in this workspace; "
                "a workspace admin must enable and configure the extension that provides it",
                sent=False,
            )
        return self.provider

    async def complete(self) -> TurnResult:
        """Call the provider once; the result is recorded whatever happens. Raises ProviderError."""
        try:
            done = await self._provider().complete(self.messages, model=self.model, **self.options)
        except ProviderError as exc:
            await self._finish("", None, None, "error", exc)
            raise
        except Exception as exc:
            error = self._contain(exc)
            await self._finish("", None, None, "error", error)
            raise error from exc
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._finish("", None, None, "cancelled", None)
            raise
        return await self._finish(
            done.text, done.prompt_tokens, done.completion_tokens, "complete", None, done.finish_reason, done.model
        )

    async def stream(self) -> AsyncGenerator[StreamEvent, None]:
        """The provider's events, as they come; the turn is recorded when the iteration ends."""
        parts: list[str] = []
        prompt_tokens: int | None = None
        completion_tokens: int | None = None
        finish = "stop"
        try:
            async with contextlib.aclosing(
                self._provider().stream(self.messages, model=self.model, **self.options)  # type: ignore[type-var]
            ) as upstream:
                async for event in upstream:
                    if event.delta:
                        parts.append(event.delta)
                    if event.finish_reason is not None:
                        finish = event.finish_reason
                    if event.prompt_tokens is not None:
                        prompt_tokens = event.prompt_tokens
                    if event.completion_tokens is not None:
                        completion_tokens = event.completion_tokens
                    yield event
        except ProviderError as exc:
            await self._finish("".join(parts), prompt_tokens, completion_tokens, "error", exc)
            raise
        except Exception as exc:
            error = self._contain(exc)
            await self._finish("".join(parts), prompt_tokens, completion_tokens, "error", error)
            raise error from exc
        except BaseException:  # the client went away (cancellation) or the consumer closed us
            with anyio.CancelScope(shield=True):
                await self._finish("".join(parts), prompt_tokens, completion_tokens or len(parts), "cancelled", None)
            raise
        await self._finish("".join(parts), prompt_tokens, completion_tokens, "complete", None, finish)

    def _contain(self, exc: Exception) -> ProviderError:
        """A provider that raised something else than ProviderError: an extension's bug, contained."""
        source = f"llm:{self.provider_name}"
        self.service.kernel.hooks.record_failure(source, "stream/complete", exc)
        return ProviderError(
            self.provider_name, "unavailable", f"the provider failed unexpectedly ({type(exc).__name__})"
        )

    async def _finish(
        self,
        text: str,
        prompt_tokens: int | None,
        completion_tokens: int | None,
        status: str,
        error: ProviderError | None,
        finish_reason: str | None = None,
        model: str | None = None,
    ) -> TurnResult:
        used = model or self.model
        if error is not None and not error.sent:  # nothing reached the provider: nothing to pay for
            pt = ct = 0
            cost = 0.0
        else:
            pt = prompt_tokens if prompt_tokens is not None else _estimate_tokens(self.messages)
            ct = completion_tokens if completion_tokens is not None else 0
            if error is not None and completion_tokens is None:
                ct = len(text.split()) if text else 0
            with unmetered():
                input_price, output_price = await self.service.runtime.price(self.provider_name, used)
            cost = pt * input_price + ct * output_price
        finish = finish_reason or ("error" if status == "error" else "cancelled" if status == "cancelled" else "stop")
        self.result = TurnResult(
            text=text,
            provider=self.provider_name,
            model=used,
            prompt_tokens=pt,
            completion_tokens=ct,
            finish_reason=finish,
            cost=cost,
            status=status,
            message_id=self.message_id,
            session_id=self.session_id,
            user_message_id=self.user_message_id,
        )
        record_llm_usage(self.service.kernel, self.provider_name, used, pt, ct, cost)  # /metrics (kernel/metrics.py)
        problem = None
        if error is not None:
            problem = {"provider": error.provider, "kind": error.kind, "detail": error.detail}
        # the final record of a turn must not be lost: shielded (a disconnect mid-write would drop
        # it) and retried while SQLite answers "database is locked" (many writers at once)
        with anyio.CancelScope(shield=True):
            await self._record_with_retries(text, status, problem, used, pt, ct, finish, cost)
        return self.result

    async def _record_with_retries(
        self,
        text: str,
        status: str,
        problem: dict[str, Any] | None,
        used: str,
        pt: int,
        ct: int,
        finish: str,
        cost: float,
    ) -> None:
        """Write the turn's record; on SQLite's "database is locked" try again, at most
        :data:`RECORD_ATTEMPTS` times. The transaction is all or nothing, so a retry writes it once.
        What still fails is an ERROR naming the turn (the answer was delivered, or failed, already:
        raising would only lose the caller's answer too)."""
        turn = f"{self.message_id or '-'} (request {self.request_id or '-'}) of workspace {self.workspace.id}"
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            try:
                # finishing what was admitted does not queue behind the workspace's new work
                with unmetered():
                    await self._record(text, status, problem, used, pt, ct, finish, cost)
                return
            except OperationalError as exc:
                if "locked" not in str(exc.orig) or attempt == RECORD_ATTEMPTS:
                    log.error(
                        "could not record chat turn %s after %d attempt(s); its usage row is lost: %s",
                        turn,
                        attempt,
                        exc.orig,
                        exc_info=True,
                    )
                    return
                log.warning("recording chat turn %s: database is locked; retrying (attempt %d)", turn, attempt)
                await asyncio.sleep(min(RECORD_RETRY_PAUSE * 2 ** (attempt - 1), 1.0))
            except Exception:
                log.exception("could not record chat turn %s; its usage row is lost", turn)
                return

    async def _record(
        self,
        text: str,
        status: str,
        problem: dict[str, Any] | None,
        used: str,
        pt: int,
        ct: int,
        finish: str,
        cost: float,
    ) -> None:
        async with self.service.sessionmaker.begin() as session:
            if self.message_id is not None:
                await session.execute(
                    update(am.ChatMessage)
                    .where(am.ChatMessage.workspace_id == self.workspace.id, am.ChatMessage.id == self.message_id)
                    .values(
                        content=text,
                        status=status,
                        error=problem,
                        model=used,
                        prompt_tokens=pt,
                        completion_tokens=ct,
                        finish_reason=finish,
                    )
                )
            session.add(
                am.LLMUsage(
                    workspace_id=self.workspace.id,
                    agent_id=self.agent_id,
                    session_id=self.session_id,
                    message_id=self.message_id,
                    provider=self.provider_name,
                    model=used,
                    prompt_tokens=pt,
                    completion_tokens=ct,
                    total_tokens=pt + ct,
                    cost=cost,
                    status=status,
                    request_id=self.request_id,
                )
            )


class ChatService:
    def __init__(self, runtime: AgentsRuntime) -> None:
        self.runtime = runtime
        self.kernel = runtime.kernel
        self.sessionmaker = runtime.kernel.store.sessionmaker

    @classmethod
    def of(cls, kernel: Any) -> ChatService:
        return cls(agents_of(kernel))

    async def agent_of(self, workspace_id: str, ref: str) -> am.Agent:
        async with self.sessionmaker() as session:
            return await get_agent(session, workspace_id, ref, field="agent")

    async def active_agents(self, workspace_id: str, limit: int = 1000) -> list[am.Agent]:
        async with self.sessionmaker() as session:
            query = (
                select(am.Agent)
                .where(am.Agent.workspace_id == workspace_id, am.Agent.status == "active")
                .order_by(am.Agent.slug)
                .limit(limit)
            )
            return list((await session.execute(query)).scalars().all())

    # --- sessions ---------------------------------------------------------------------------------

    async def create_session(
        self, workspace_id: str, agent_ref: str, title: str, *, actor_id: str | None
    ) -> SessionRecord:
        async with self.sessionmaker.begin() as session:
            agent = await get_agent(session, workspace_id, agent_ref, field="agent")
            row = am.ChatSession(workspace_id=workspace_id, agent_id=agent.id, title=title, created_by=actor_id)
            session.add(row)
            await session.flush()
            return from_row(row, SessionRecord)

    async def _session_row(self, session: Any, workspace_id: str, session_id: str) -> am.ChatSession:
        row = (
            await session.execute(
                select(am.ChatSession).where(
                    am.ChatSession.workspace_id == workspace_id,
                    am.ChatSession.id == session_id,
                    am.ChatSession.status != "archived",
                )
            )
        ).scalar_one_or_none()
        if row is None:
            raise NotFoundError(f"chat session {session_id!r} does not exist in this workspace", field="session_id")
        return row

    async def get_session(self, workspace_id: str, session_id: str) -> SessionRecord:
        async with self.sessionmaker() as session:
            return from_row(await self._session_row(session, workspace_id, session_id), SessionRecord)

    async def list_sessions(
        self, workspace_id: str, *, agent_ref: str | None, offset: int, limit: int
    ) -> tuple[list[SessionRecord], int]:
        async with self.sessionmaker() as session:
            where = [am.ChatSession.workspace_id == workspace_id, am.ChatSession.status != "archived"]
            if agent_ref is not None:
                agent = await get_agent(session, workspace_id, agent_ref, field="agent", include_archived=True)
                where.append(am.ChatSession.agent_id == agent.id)
            total = (await session.execute(select(func.count()).select_from(am.ChatSession).where(*where))).scalar_one()
            rows = (
                (
                    await session.execute(
                        select(am.ChatSession)
                        .where(*where)
                        .order_by(am.ChatSession.updated_at.desc(), am.ChatSession.id)
                        .offset(offset)
                        .limit(limit)
                    )
                )
                .scalars()
                .all()
            )
        return [from_row(r, SessionRecord) for r in rows], int(total)

    async def update_session(self, workspace_id: str, session_id: str, *, title: str) -> SessionRecord:
        async with self.sessionmaker.begin() as session:
            row = await self._session_row(session, workspace_id, session_id)
            row.title = title
            await session.flush()
            return from_row(row, SessionRecord)

    async def archive_session(self, workspace_id: str, session_id: str) -> None:
        async with self.sessionmaker.begin() as session:
            row = await self._session_row(session, workspace_id, session_id)
            row.status = "archived"

    async def list_messages(
        self, workspace_id: str, session_id: str, *, offset: int, limit: int
    ) -> tuple[list[MessageRecord], int]:
        async with self.sessionmaker() as session:
            await self._session_row(session, workspace_id, session_id)
            where = (am.ChatMessage.workspace_id == workspace_id, am.ChatMessage.session_id == session_id)
            total = (await session.execute(select(func.count()).select_from(am.ChatMessage).where(*where))).scalar_one()
            rows = (
                (
                    await session.execute(
                        select(am.ChatMessage)
                        .where(*where)
                        .order_by(am.ChatMessage.created_at, am.ChatMessage.id)
                        .offset(offset)
                        .limit(limit)
                    )
                )
                .scalars()
                .all()
            )
        return [from_row(r, MessageRecord) for r in rows], int(total)

    async def get_message(self, workspace_id: str, message_id: str) -> MessageRecord:
        async with self.sessionmaker() as session:
            row = (
                await session.execute(
                    select(am.ChatMessage).where(
                        am.ChatMessage.workspace_id == workspace_id, am.ChatMessage.id == message_id
                    )
                )
            ).scalar_one_or_none()
        if row is None:
            raise NotFoundError(f"message {message_id!r} does not exist in this workspace", field="message_id")
        return from_row(row, MessageRecord)

    # --- usage ----------------------------------------------------------------------------------

    async def list_usage(
        self,
        workspace_id: str,
        *,
        agent_id: str | None,
        provider: str | None,
        since: datetime | None,
        offset: int,
        limit: int,
    ) -> tuple[list[UsageRecord], int, UsageTotals]:
        where: list[Any] = [am.LLMUsage.workspace_id == workspace_id]
        if agent_id is not None:
            where.append(am.LLMUsage.agent_id == agent_id)
        if provider is not None:
            where.append(am.LLMUsage.provider == provider)
        if since is not None:
            where.append(am.LLMUsage.created_at >= since)
        async with self.sessionmaker() as session:
            calls, pt, ct, cost = (
                await session.execute(
                    select(
                        func.count(),
                        func.coalesce(func.sum(am.LLMUsage.prompt_tokens), 0),
                        func.coalesce(func.sum(am.LLMUsage.completion_tokens), 0),
                        func.coalesce(func.sum(am.LLMUsage.cost), 0.0),
                    ).where(*where)
                )
            ).one()
            rows = (
                (
                    await session.execute(
                        select(am.LLMUsage)
                        .where(*where)
                        .order_by(am.LLMUsage.created_at.desc(), am.LLMUsage.id)
                        .offset(offset)
                        .limit(limit)
                    )
                )
                .scalars()
                .all()
            )
        totals = UsageTotals(
            calls=int(calls),
            prompt_tokens=int(pt),
            completion_tokens=int(ct),
            total_tokens=int(pt) + int(ct),
            cost=float(cost),
        )
        return [from_row(r, UsageRecord) for r in rows], int(calls), totals

    # --- turns ----------------------------------------------------------------------------------

    async def turn_settings(self) -> TurnSettings:
        """The platform settings and the base prompt a turn needs (cached; a cold cache opens a session
        per value, one after the other). Read before a turn's session opens, never inside it: a task
        that waited for a second connection while holding one could deadlock the pool under load."""
        runtime = self.runtime
        temperature = await runtime.setting("agents.default_temperature", DEFAULT_TEMPERATURE)
        if isinstance(temperature, bool) or not isinstance(temperature, int | float):
            temperature = None
        base = await runtime.prompt("agent.base")
        return TurnSettings(
            max_message_chars=await runtime.int_setting("chat.max_message_chars", MAX_MESSAGE_CHARS, 1, 10_000_000),
            history_limit=await runtime.int_setting("chat.history_limit", HISTORY_LIMIT, 0, 10_000),
            title_chars=await runtime.int_setting("chat.title_max_chars", TITLE_CHARS, 1, 300),
            temperature=None if temperature is None else float(temperature),
            max_tokens=await runtime.int_setting("agents.default_max_tokens", DEFAULT_MAX_TOKENS, 1, 1_000_000),
            base_prompt=base.body if base is not None else "",
        )

    async def _system_prompt(self, session: Any, workspace: Workspace, agent: am.Agent, base: str) -> str:
        parts: list[str] = []
        if base.strip():
            parts.append(_fill(base, agent_name=agent.name, workspace_name=workspace.name))
        visible = or_(am.Persona.workspace_id.is_(None), am.Persona.workspace_id == workspace.id)
        if agent.persona_id is not None:
            persona = (
                await session.execute(select(am.Persona).where(am.Persona.id == agent.persona_id, visible))
            ).scalar_one_or_none()
            if persona is not None and persona.system_prompt.strip():
                parts.append(persona.system_prompt.strip())
        if agent.skill_ids:
            skills = (
                (
                    await session.execute(
                        select(am.Skill).where(
                            am.Skill.id.in_(agent.skill_ids),
                            or_(am.Skill.workspace_id.is_(None), am.Skill.workspace_id == workspace.id),
                            am.Skill.status != "archived",
                        )
                    )
                )
                .scalars()
                .all()
            )
            order = {skill_id: i for i, skill_id in enumerate(agent.skill_ids)}
            for skill in sorted(skills, key=lambda s: order.get(s.id, 0)):
                if skill.instructions.strip():
                    parts.append(f"## Skill: {skill.name}\n{skill.instructions.strip()}")
        if agent.instructions.strip():
            parts.append(agent.instructions.strip())
        return "\n\n".join(parts)

    def _provider_for(
        self,
        providers: Collected[LLMProvider],
        settings: ModelSettings,
        knobs: TurnSettings,
        overrides: dict[str, Any],
    ) -> tuple[str, LLMProvider | None, str, dict[str, Any]]:
        current = self.kernel.current_settings
        name = settings.provider or current.llm_provider
        model = settings.model or (current.llm_model if name == current.llm_provider else None)
        if model is None:
            raise ValidationError(
                f"the agent names provider {name!r} but no model; set model_settings.model",
                field="model_settings.model",
            )
        temperature = settings.temperature if settings.temperature is not None else knobs.temperature
        max_tokens = settings.max_tokens if settings.max_tokens is not None else knobs.max_tokens
        options: dict[str, Any] = {"temperature": temperature, "max_tokens": max_tokens}
        options.update({k: v for k, v in overrides.items() if v is not None})
        return name, providers.items.get(name), model, options

    @staticmethod
    def _check_length(content: str, field: str, knobs: TurnSettings) -> None:
        limit = knobs.max_message_chars
        if len(content) > limit:
            raise ValidationError(f"the message is {len(content)} characters; at most {limit} are allowed", field=field)

    async def start_turn(
        self,
        workspace: Workspace,
        session_id: str,
        content: str,
        *,
        actor_id: str | None,
        request_id: str | None,
        agent_ref: str | None = None,
    ) -> Turn:
        """Record the user's message and an assistant message to fill; see the module docstring.

        ``agent_ref`` (id or slug), when given, must be the session's agent (422 naming ``agent``); a
        paused agent does not answer (409 naming ``agent``). Everything read from caches (settings,
        the base prompt, the workspace's providers) is read before the transaction opens, so the
        turn holds one database connection at a time.
        """
        knobs = await self.turn_settings()
        self._check_length(content, "content", knobs)
        providers = await self.runtime.llm_providers(workspace)
        history_limit = knobs.history_limit
        async with self.sessionmaker.begin() as session:
            chat = await self._session_row(session, workspace.id, session_id)
            agent = await get_agent(session, workspace.id, chat.agent_id, field="agent")
            if agent_ref is not None and agent_ref not in (agent.id, agent.slug):
                raise ValidationError(f"session {session_id!r} talks to another agent", field="agent")
            _check_active(agent, "agent")
            settings = model_settings_of(agent)
            name, provider, model, options = self._provider_for(providers, settings, knobs, {})
            system = await self._system_prompt(session, workspace, agent, knobs.base_prompt)
            history: list[am.ChatMessage] = []
            if history_limit:
                history = list(
                    (
                        await session.execute(
                            select(am.ChatMessage)
                            .where(
                                am.ChatMessage.workspace_id == workspace.id,
                                am.ChatMessage.session_id == chat.id,
                                am.ChatMessage.status.in_(("complete", "cancelled")),
                                am.ChatMessage.content != "",
                            )
                            .order_by(am.ChatMessage.created_at.desc(), am.ChatMessage.id.desc())
                            .limit(history_limit)
                        )
                    )
                    .scalars()
                    .all()
                )
                history.reverse()
            user = am.ChatMessage(
                workspace_id=workspace.id, session_id=chat.id, role="user", content=content, created_by=actor_id
            )
            session.add(user)
            await session.flush()  # the user's message is older than the answer, to the microsecond
            answer = am.ChatMessage(
                workspace_id=workspace.id,
                session_id=chat.id,
                role="assistant",
                content="",
                status="streaming",
                provider=name,
                model=model,
            )
            session.add(answer)
            if not chat.title:
                chat.title = content.strip().splitlines()[0][: knobs.title_chars] if content.strip() else ""
            chat.updated_at = utcnow()
            await session.flush()
            ids = (chat.id, user.id, answer.id)
        messages = [ChatMessage(role="system", content=system)] if system else []
        messages += [ChatMessage(role=m.role, content=m.content) for m in history]
        messages.append(ChatMessage(role="user", content=content))
        return Turn(
            self,
            workspace=workspace,
            agent=agent,
            provider_name=name,
            provider=provider,
            model=model,
            options=options,
            messages=messages,
            request_id=request_id,
            session_id=ids[0],
            user_message_id=ids[1],
            message_id=ids[2],
        )

    async def start_stateless(
        self,
        workspace: Workspace,
        agent_ref: str,
        conversation: Sequence[ChatMessage],
        *,
        overrides: dict[str, Any],
        request_id: str | None,
        agent_field: str = "model",
    ) -> Turn:
        """A turn on a conversation the caller holds (nothing but usage is stored).

        A paused agent does not answer: 409 naming ``agent_field`` (the input that named the agent).
        """
        knobs = await self.turn_settings()
        for i, message in enumerate(conversation):
            self._check_length(message.content, f"messages[{i}].content", knobs)
        providers = await self.runtime.llm_providers(workspace)
        async with self.sessionmaker() as session:
            agent = await get_agent(session, workspace.id, agent_ref, field=agent_field)
            _check_active(agent, agent_field)
            settings = model_settings_of(agent)
            name, provider, model, options = self._provider_for(providers, settings, knobs, overrides)
            system = await self._system_prompt(session, workspace, agent, knobs.base_prompt)
        messages = [ChatMessage(role="system", content=system)] if system else []
        messages += list(conversation)
        return Turn(
            self,
            workspace=workspace,
            agent=agent,
            provider_name=name,
            provider=provider,
            model=model,
            options=options,
            messages=messages,
            request_id=request_id,
        )
