"""Chat: sessions and messages of a workspace, starting a turn with an agent, LLM usage.

A turn, end to end:

1. :meth:`ChatService.start_turn` first reads what comes from caches — platform settings, the base
   prompt, the workspace's providers (:meth:`ChatService.turn_settings`) — so that the turn holds
   one database connection at a time (a cold cache read inside the transaction needed a second
   one, and enough concurrent turns exhausted the pool). Then, in one transaction, it checks the
   session (this workspace's, not archived), loads the agent (a paused one answers nothing: 409),
   its persona and skills, the last ``chat.history_limit`` messages, and writes the user's message
   plus an assistant message in state ``streaming``. The provider is the agent's
   (``model_settings.provider``, else ``LLM_PROVIDER``) as the workspace's hook view offers it.
2. :meth:`~automatos.chat.turn.Turn.stream` (or ``complete``) calls the provider and records how
   the turn ended (:mod:`automatos.chat.turn`). A provider that fails before the first token is the
   caller's 502 problem+json naming it (a 409 naming ``model_settings.provider`` when it is not
   enabled or configured here, kind ``not_enabled``); after it, an SSE ``error`` event.

The system prompt is, in order: the registry's ``agent.base`` (placeholders ``{agent_name}`` and
``{workspace_name}`` substituted, nothing else interpreted), the persona's prompt, each skill's
instructions (``## Skill: <name>``), the content of the marketplace plugins assigned to the agent
in assignment order (each plugin's skills as ``## Skill: <name>`` and prompts as
``## Prompt: <name>``, in the order the plugin declared them), the agent's own instructions — last,
so what the agent's owner wrote has the final word over what plugins bring. The plugins' content
comes from :meth:`automatos.tools.registry.ToolRegistry.agent_content` (the workspace's hook view:
no database; the proxies read the KV cache or the blob store) and is fetched after the turn's
transaction, never inside it; a plugin whose content fails is logged and left out, never the
turn's error.

Stateless turns (:meth:`ChatService.start_stateless`, the OpenAI-compatible endpoint) take the
conversation from the caller and persist only usage.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from automatos.agents import models as am
from automatos.agents.records import ModelSettings, get_agent, model_settings_of
from automatos.chat import models as cm
from automatos.chat.agent_tools import tool_use
from automatos.chat.records import MessageRecord, SessionRecord, TurnSettings, UsageRecord, UsageTotals
from automatos.chat.tool_loop import ToolUse
from automatos.chat.turn import Turn
from automatos.kernel.db.base import utcnow
from automatos.kernel.db.queries import from_row
from automatos.kernel.errors import ConflictError, NotFoundError, ValidationError
from automatos.kernel.hooks import Collected
from automatos.kernel.types import ChatMessage, LLMProvider, ToolCall, ToolResult, ToolSpec, Workspace
from automatos.llm.settings import LLMSettings

if TYPE_CHECKING:
    from automatos.agents.service import AgentService
    from automatos.chat.prompts import PromptRegistry
    from automatos.kernel.core import Kernel
    from automatos.kernel.settings_registry import SettingsRegistry
    from automatos.llm.catalog import ModelCatalog
    from automatos.llm.providers import ProviderResolver
    from automatos.tools.registry import ToolRegistry
    from automatos.tools.service import ToolService

__all__ = ["ChatService"]

log = logging.getLogger("automatos.chat")

HISTORY_LIMIT = 50
MAX_MESSAGE_CHARS = 32_000
DEFAULT_TEMPERATURE = 0.7
DEFAULT_MAX_TOKENS = 1024
TITLE_CHARS = 80


def _fill(template: str, **values: str) -> str:
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template


async def _not_here(call: ToolCall) -> ToolResult:
    """The runner of a turn with only the caller's tools: the loop hands those back, never here."""
    return ToolResult(ok=False, error={"kind": "refused", "message": f"tool {call.name!r} is not run here"})


def _check_active(agent: am.Agent, field: str) -> None:
    if agent.status == "paused":
        raise ConflictError(
            f"agent {agent.slug!r} is paused: it does not answer until its status is set back to active",
            field=field,
        )


class ChatService:
    """Chat sessions, messages, usage and turns of the kernel's database."""

    def __init__(
        self,
        kernel: Kernel,
        *,
        agents: AgentService,
        settings: SettingsRegistry,
        prompts: PromptRegistry,
        models: ModelCatalog,
        providers: ProviderResolver,
        tools: ToolRegistry | None = None,
        tool_calls: ToolService | None = None,
    ) -> None:
        self.kernel = kernel
        self.sessionmaker = kernel.store.sessionmaker
        self.agents = agents
        self.settings = settings
        self.prompts = prompts
        self.models = models
        """Prices for the usage rows."""
        self.providers = providers
        self.tools = tools
        """Where the content of the agent's assigned plugins comes from (``None``: no plugins)."""
        self.tool_calls = tool_calls
        """How an agent's tool calls run, checked and audited (``None``: agents call no tools)."""

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
            row = cm.ChatSession(workspace_id=workspace_id, agent_id=agent.id, title=title, created_by=actor_id)
            session.add(row)
            await session.flush()
            return from_row(row, SessionRecord)

    async def _session_row(self, session: Any, workspace_id: str, session_id: str) -> cm.ChatSession:
        row = (
            await session.execute(
                select(cm.ChatSession).where(
                    cm.ChatSession.workspace_id == workspace_id,
                    cm.ChatSession.id == session_id,
                    cm.ChatSession.status != "archived",
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
            where = [cm.ChatSession.workspace_id == workspace_id, cm.ChatSession.status != "archived"]
            if agent_ref is not None:
                agent = await get_agent(session, workspace_id, agent_ref, field="agent", include_archived=True)
                where.append(cm.ChatSession.agent_id == agent.id)
            total = (await session.execute(select(func.count()).select_from(cm.ChatSession).where(*where))).scalar_one()
            rows = (
                (
                    await session.execute(
                        select(cm.ChatSession)
                        .where(*where)
                        .order_by(cm.ChatSession.updated_at.desc(), cm.ChatSession.id)
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
            where = (cm.ChatMessage.workspace_id == workspace_id, cm.ChatMessage.session_id == session_id)
            total = (await session.execute(select(func.count()).select_from(cm.ChatMessage).where(*where))).scalar_one()
            rows = (
                (
                    await session.execute(
                        select(cm.ChatMessage)
                        .where(*where)
                        .order_by(cm.ChatMessage.created_at, cm.ChatMessage.id)
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
                    select(cm.ChatMessage).where(
                        cm.ChatMessage.workspace_id == workspace_id, cm.ChatMessage.id == message_id
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
        where: list[Any] = [cm.LLMUsage.workspace_id == workspace_id]
        if agent_id is not None:
            where.append(cm.LLMUsage.agent_id == agent_id)
        if provider is not None:
            where.append(cm.LLMUsage.provider == provider)
        if since is not None:
            where.append(cm.LLMUsage.created_at >= since)
        async with self.sessionmaker() as session:
            calls, pt, ct, cost = (
                await session.execute(
                    select(
                        func.count(),
                        func.coalesce(func.sum(cm.LLMUsage.prompt_tokens), 0),
                        func.coalesce(func.sum(cm.LLMUsage.completion_tokens), 0),
                        func.coalesce(func.sum(cm.LLMUsage.cost), 0.0),
                    ).where(*where)
                )
            ).one()
            rows = (
                (
                    await session.execute(
                        select(cm.LLMUsage)
                        .where(*where)
                        .order_by(cm.LLMUsage.created_at.desc(), cm.LLMUsage.id)
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
        settings = self.settings
        temperature = await settings.setting("agents.default_temperature", DEFAULT_TEMPERATURE)
        if isinstance(temperature, bool) or not isinstance(temperature, int | float):
            temperature = None
        base = await self.prompts.prompt("agent.base")
        return TurnSettings(
            max_message_chars=await settings.int_setting("chat.max_message_chars", MAX_MESSAGE_CHARS, 1, 10_000_000),
            history_limit=await settings.int_setting("chat.history_limit", HISTORY_LIMIT, 0, 10_000),
            title_chars=await settings.int_setting("chat.title_max_chars", TITLE_CHARS, 1, 300),
            temperature=None if temperature is None else float(temperature),
            max_tokens=await settings.int_setting("agents.default_max_tokens", DEFAULT_MAX_TOKENS, 1, 1_000_000),
            base_prompt=base.body if base is not None else "",
            tool_max_calls=await settings.int_setting("chat.tool_max_calls", 8, 0, 100),
            tool_seconds=float(await settings.int_setting("chat.tool_seconds", 60, 1, 3600)),
            tool_result_chars=await settings.int_setting("chat.tool_result_chars", 16_000, 100, 1_000_000),
            tool_meta_threshold=await settings.int_setting("chat.tool_meta_threshold", 20, 0, 10_000),
        )

    async def _system_prompt(
        self, session: Any, workspace: Workspace, agent: am.Agent, base: str
    ) -> tuple[list[str], str]:
        """The system prompt read from the database: its parts up to the skills, and the agent's
        instructions (the assigned plugins' content goes between them: :meth:`_with_content`)."""
        parts: list[str] = []
        if base.strip():
            parts.append(_fill(base, agent_name=agent.name, workspace_name=workspace.name))
        visible = self.agents.personas.visible(workspace.id)
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
                            self.agents.skills.visible(workspace.id),
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
        return parts, agent.instructions.strip()

    async def _with_content(self, workspace: Workspace, agent_id: str, parts: list[str], instructions: str) -> str:
        """The whole system prompt: ``parts``, the assigned plugins' content, ``instructions``.

        Called outside any database session (the content needs none).
        """
        sections = list(parts)
        if self.tools is not None:
            try:
                items = await self.tools.agent_content(workspace, agent_id)
            except Exception:  # the registry contains each provider; this is for the view itself
                log.exception("workspace %s: agent %s: its plugins' content could not be read", workspace.id, agent_id)
                items = []
            for item in items:
                if item.text.strip():
                    heading = "Prompt" if item.kind == "prompt" else "Skill"
                    sections.append(f"## {heading}: {item.name}\n{item.text.strip()}")
        if instructions:
            sections.append(instructions)
        return "\n\n".join(sections)

    def _provider_for(
        self,
        providers: Collected[LLMProvider],
        settings: ModelSettings,
        knobs: TurnSettings,
        overrides: dict[str, Any],
    ) -> tuple[str, LLMProvider | None, str, dict[str, Any]]:
        current = self.kernel.current_settings.group(LLMSettings)
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
        use_tools: bool = False,
    ) -> Turn:
        """Record the user's message and an assistant message to fill; see the module docstring.

        ``use_tools``: the caller holds ``tools.use``; the agent's tools (its assigned plugins') are
        then offered to its model and its calls run (:meth:`_tool_use`).

        ``agent_ref`` (id or slug), when given, must be the session's agent (422 naming ``agent``); a
        paused agent does not answer (409 naming ``agent``). Everything read from caches (settings,
        the base prompt, the workspace's providers) is read before the transaction opens, so the
        turn holds one database connection at a time.
        """
        knobs = await self.turn_settings()
        self._check_length(content, "content", knobs)
        providers = await self.providers.llm_providers(workspace)
        history_limit = knobs.history_limit
        async with self.sessionmaker.begin() as session:
            chat = await self._session_row(session, workspace.id, session_id)
            agent = await get_agent(session, workspace.id, chat.agent_id, field="agent")
            if agent_ref is not None and agent_ref not in (agent.id, agent.slug):
                raise ValidationError(f"session {session_id!r} talks to another agent", field="agent")
            _check_active(agent, "agent")
            settings = model_settings_of(agent)
            name, provider, model, options = self._provider_for(providers, settings, knobs, {})
            parts, instructions = await self._system_prompt(session, workspace, agent, knobs.base_prompt)
            history: list[cm.ChatMessage] = []
            if history_limit:
                history = list(
                    (
                        await session.execute(
                            select(cm.ChatMessage)
                            .where(
                                cm.ChatMessage.workspace_id == workspace.id,
                                cm.ChatMessage.session_id == chat.id,
                                cm.ChatMessage.status.in_(("complete", "cancelled")),
                                cm.ChatMessage.content != "",
                                cm.ChatMessage.role != "tool",  # the answer after them says what they gave
                            )
                            .order_by(cm.ChatMessage.created_at.desc(), cm.ChatMessage.id.desc())
                            .limit(history_limit)
                        )
                    )
                    .scalars()
                    .all()
                )
                history.reverse()
            user = cm.ChatMessage(
                workspace_id=workspace.id, session_id=chat.id, role="user", content=content, created_by=actor_id
            )
            session.add(user)
            await session.flush()  # the user's message is older than the answer, to the microsecond
            answer = cm.ChatMessage(
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
            agent_id = agent.id
        system = await self._with_content(workspace, agent_id, parts, instructions)  # after the transaction
        messages = [ChatMessage(role="system", content=system)] if system else []
        messages += [ChatMessage(role=m.role, content=m.content) for m in history]
        messages.append(ChatMessage(role="user", content=content))
        tool_use = await self._tool_use(workspace, agent, knobs, actor_id, request_id) if use_tools else None
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
            tools=tool_use,
        )

    async def _tool_use(
        self,
        workspace: Workspace,
        agent: am.Agent,
        knobs: TurnSettings,
        actor_id: str | None,
        request_id: str | None,
    ) -> ToolUse | None:
        """The turn's tools (:func:`automatos.chat.agent_tools.tool_use`), or ``None``."""
        if self.tool_calls is None:
            return None
        return await tool_use(self.tool_calls, workspace, agent.id, knobs, actor_id=actor_id, request_id=request_id)

    async def start_stateless(
        self,
        workspace: Workspace,
        agent_ref: str,
        conversation: Sequence[ChatMessage],
        *,
        overrides: dict[str, Any],
        request_id: str | None,
        agent_field: str = "model",
        client_tools: Sequence[ToolSpec] = (),
        use_tools: bool = False,
        actor_id: str | None = None,
    ) -> Turn:
        """A turn on a conversation the caller holds (nothing but usage is stored).

        A paused agent does not answer: 409 naming ``agent_field`` (the input that named the agent).
        ``client_tools``: the caller's own tools, offered with the agent's (when ``use_tools``) and
        never run here (see :func:`automatos.chat.tool_loop.iterate_tool_loop`'s ``external``); one
        named like an agent's tool is a 422 naming ``tools[i].function.name``.
        """
        knobs = await self.turn_settings()
        for i, message in enumerate(conversation):
            self._check_length(message.content, f"messages[{i}].content", knobs)
        providers = await self.providers.llm_providers(workspace)
        async with self.sessionmaker() as session:
            agent = await get_agent(session, workspace.id, agent_ref, field=agent_field)
            _check_active(agent, agent_field)
            settings = model_settings_of(agent)
            name, provider, model, options = self._provider_for(providers, settings, knobs, overrides)
            parts, instructions = await self._system_prompt(session, workspace, agent, knobs.base_prompt)
            agent_id = agent.id
        system = await self._with_content(workspace, agent_id, parts, instructions)  # the session is closed
        messages = [ChatMessage(role="system", content=system)] if system else []
        messages += list(conversation)
        tool_use = await self._tool_use(workspace, agent, knobs, actor_id, request_id) if use_tools else None
        if client_tools:
            own = {t.name for t in tool_use.tools} if tool_use is not None else set()
            for i, tool in enumerate(client_tools):
                if tool.name in own:
                    raise ValidationError(
                        f"tool {tool.name!r} is one of the agent's own tools; name yours otherwise",
                        field=f"tools[{i}].function.name",
                    )
            external = frozenset(t.name for t in client_tools)
            if tool_use is None:
                tool_use = ToolUse(tools=list(client_tools), execute=_not_here, external=external)
            else:
                tool_use.tools = [*tool_use.tools, *client_tools]
                tool_use.external = external
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
            tools=tool_use,
        )
