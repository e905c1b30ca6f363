"""Agents of a workspace: :class:`AgentService`, the queries and the rules.

Rules kept here, not in handlers, so the API and the CLI cannot disagree:
- every query is filtered by ``workspace_id``; an agent is read by id or slug;
- an agent's persona and skills must be active and visible to its workspace (the platform's or the
  workspace's own, referenced by id or slug, stored by id: :mod:`automatos.agents.owned`); its
  model settings must name a provider the workspace can use
  (:func:`automatos.agents.records.check_model_settings`). A model name the catalogue does not list
  is accepted: catalogues lag behind providers, and the offline provider answers any model;
- slugs follow :func:`automatos.agents.owned.checked_slug`; ``auto`` is reserved (``/v1``'s
  ``model: "auto"`` asks the router to choose);
- deleting archives (``status = 'archived'``): an archived agent keeps its slug and stays readable
  by id or slug (lists show it with ``include_archived``); taking its slug answers 409 saying so,
  and :meth:`AgentService.restore_agent` brings it back (the rule workspaces follow too:
  :mod:`automatos.workspaces.archive`);
- every change is audited in the same transaction, with its actor and request id, naming what
  changed, never the values;
- after the commit of a change (create, update — pause included —, archive, restore) the
  service tells this node's listeners at once (:meth:`AgentService.on_change`: the router drops its
  copy of the workspace's active agents) and every node through the kernel bus (``routing``, with
  the workspace id), so a paused agent is not routed to. Only the kernel is needed for that: this
  package does not import the router.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from automatos.agents import models as am
from automatos.agents.owned import NAME_AND_SLUG, Description, Labels, LongText, Name, Slug, Summary, checked_slug
from automatos.agents.personas import Personas
from automatos.agents.records import ModelSettings, check_model_settings, model_settings_of
from automatos.agents.skills import Skills
from automatos.kernel.db.queries import lookable, page, set_fields
from automatos.kernel.errors import ConflictError, NotFoundError, ValidationError
from automatos.kernel.store import KernelStore
from automatos.kernel.validation import not_blank
from automatos.kernel.view_versions import bump, publish_versions

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel

__all__ = ["AgentCreate", "AgentRecord", "AgentService", "AgentStatus", "AgentUpdate"]

AgentStatus = Literal["active", "paused"]
Reference = Annotated[str, msgspec.Meta(min_length=1, max_length=100, description="An id or a slug.")]
References = Annotated[list[Reference], msgspec.Meta(max_length=100)]


ToolIntents = Annotated[list[Literal["read", "write", "destructive"]], msgspec.Meta(max_length=3)]
"""What an agent's tool calls may do (:mod:`automatos.tools.permissions`)."""


class AgentCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name
    slug: Slug
    description: Description = ""
    instructions: LongText = ""
    """The agent's own system instructions, added after its persona's and skills'."""
    persona_id: Reference | None = None
    """A persona of the platform or of this workspace (id or slug)."""
    skill_ids: References = []
    """Skills of the platform or of this workspace (ids or slugs)."""
    model_settings: ModelSettings = msgspec.field(default_factory=ModelSettings)
    tools: Labels = []
    plugins: Labels = []
    tool_intents: ToolIntents | None = None
    """What the agent's tool calls may do (``read``, ``write``, ``destructive``); ``null``: read
    and write (docs/tools.md "Permissions")."""
    status: AgentStatus = "active"


class AgentUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Only the fields present change; ``model_settings`` is replaced as a whole."""

    name: Name | UnsetType = UNSET
    slug: Slug | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    instructions: LongText | UnsetType = UNSET
    persona_id: Reference | UnsetType | None = UNSET
    """``null`` removes the persona."""
    skill_ids: References | UnsetType = UNSET
    model_settings: ModelSettings | UnsetType = UNSET
    tools: Labels | UnsetType = UNSET
    plugins: Labels | UnsetType = UNSET
    tool_intents: ToolIntents | UnsetType | None = UNSET
    """``null``: back to read and write."""
    status: AgentStatus | UnsetType = UNSET
    """``active`` or ``paused``; also restores an archived agent."""


class AgentRecord(msgspec.Struct, kw_only=True):
    id: str
    workspace_id: str
    slug: str
    name: str
    description: str
    instructions: str
    persona_id: str | None
    persona: Summary | None
    """``null`` when the agent has none (or the row is gone)."""
    skill_ids: list[str]
    skills: list[Summary]
    """The skills of ``skill_ids`` that still exist, in that order."""
    model_settings: ModelSettings
    tools: list[str]
    plugins: list[str]
    tool_intents: list[str] | None
    status: str
    created_by: str | None
    created_at: datetime
    updated_at: datetime


BUS_CHANNEL = "routing"
"""What the router (and the routing rules' cache) listen on for a workspace whose agents changed."""
_RESERVED_AGENT_SLUGS = frozenset({"auto"})
"""``model: "auto"`` on ``/v1`` asks the router to choose: an agent of that slug could never be called."""


def _intents(intents: Sequence[str] | None) -> list[str] | None:
    """Intents as stored: deduplicated, in the order read, write, destructive."""
    return None if intents is None else [i for i in ("read", "write", "destructive") if i in intents]


def _agent_slug(slug: str) -> str:
    slug = checked_slug(slug)
    if slug.lower() in _RESERVED_AGENT_SLUGS:
        raise ValidationError(
            f"slug {slug!r} is reserved (/v1 model {slug!r} asks the router to choose an agent)", field="slug"
        )
    return slug


def _summary(row: am.Persona | am.Skill) -> Summary:
    return Summary(id=row.id, slug=row.slug, name=row.name)


class AgentService:
    """The agents of one database; personas and skills are referenced through their services."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        personas: Personas,
        skills: Skills,
        *,
        kernel: Kernel | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.personas = personas
        self.skills = skills
        self.kernel = kernel
        """Publishes ``routing`` on its bus after a change (``None``: no bus, listeners only)."""
        self._listeners: list[Callable[[str], None]] = []

    def on_change(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(workspace_id)`` on this node right after a change of the workspace's agents commits."""
        self._listeners.append(listener)

    async def _changed(self, workspace_id: str, version: int | None = None) -> None:
        """After a commit: this node's listeners now, every node through the bus (``routing``); with
        ``version`` (the agents' tool intents changed: the workspace's views hold them) the views too."""
        for listener in self._listeners:
            listener(workspace_id)
        if self.kernel is not None and self.kernel.started:
            if version is not None:
                await publish_versions(self.kernel, [(workspace_id, version)])
            await self.kernel.bus.publish(BUS_CHANNEL, workspace_id=workspace_id)

    async def tool_intents(self, workspace_id: str) -> dict[str, list[str]]:
        """The workspace's agents whose tool intents are set: agent id → intents (an extras loader's
        read, :class:`automatos.tools.permissions.ToolPermissions`; when a view is built only)."""
        async with self.sessionmaker() as session:
            rows = (
                await session.execute(
                    select(am.Agent.id, am.Agent.tool_intents).where(
                        am.Agent.workspace_id == workspace_id, am.Agent.status != "archived"
                    )
                )
            ).all()
        # JSON null is stored as the JSON value: checked here, not in SQL
        return {agent_id: list(intents) for agent_id, intents in rows if isinstance(intents, list)}

    async def list_agents(
        self,
        workspace_id: str,
        *,
        status: str | None = None,
        include_archived: bool = False,
        persona: str | None = None,
        q: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[list[AgentRecord], int]:
        """A page of the workspace's agents, oldest first; archived ones only when asked for."""
        async with self.sessionmaker() as session:
            query = select(am.Agent).where(am.Agent.workspace_id == workspace_id)
            if status:
                query = query.where(am.Agent.status == status)
            elif not include_archived:
                query = query.where(am.Agent.status != "archived")
            if persona is not None:
                row = await self.personas.find(session, workspace_id, persona, scope=None)
                if row is None:
                    return [], 0
                query = query.where(am.Agent.persona_id == row.id)
            if q:
                query = query.where(
                    or_(am.Agent.name.icontains(q, autoescape=True), am.Agent.slug.icontains(q, autoescape=True))
                )
            rows, total = await page(session, query.order_by(am.Agent.created_at, am.Agent.id), offset, limit)
            return await self._agents(session, workspace_id, rows), total

    async def get_agent(self, workspace_id: str, ref: str) -> AgentRecord:
        """The workspace's agent by id or slug, archived or not; 404 naming ``agent``."""
        async with self.sessionmaker() as session:
            row = await self._agent(session, workspace_id, ref)
            return (await self._agents(session, workspace_id, [row]))[0]

    async def create_agent(
        self,
        workspace_id: str,
        data: AgentCreate,
        *,
        providers: Collection[str],
        actor_id: str | None,
        request_id: str | None = None,
    ) -> AgentRecord:
        """``providers``: the LLM providers the workspace can use (``ProviderResolver.names``)."""
        slug = _agent_slug(data.slug)
        name = not_blank(data.name)
        check_model_settings(data.model_settings, set(providers))
        try:
            async with self.sessionmaker.begin() as session:
                await self._refuse_taken_slug(session, workspace_id, slug)
                row = am.Agent(
                    workspace_id=workspace_id,
                    slug=slug,
                    name=name,
                    description=data.description,
                    instructions=data.instructions,
                    persona_id=await self._persona_id(session, workspace_id, data.persona_id),
                    skill_ids=await self._skill_ids(session, workspace_id, data.skill_ids),
                    model_settings=msgspec.to_builtins(data.model_settings),
                    tools=list(data.tools),
                    plugins=list(data.plugins),
                    tool_intents=_intents(data.tool_intents),
                    status=data.status,
                    created_by=actor_id,
                )
                session.add(row)
                await session.flush()
                KernelStore._audit(
                    session, workspace_id, actor_id, "agent.created", "agent", row.id, {"slug": slug}, request_id
                )
                record = (await self._agents(session, workspace_id, [row]))[0]
                version = await bump(session, workspace_id) if row.tool_intents is not None else None
            await self._changed(workspace_id, version)
            return record
        except IntegrityError:
            raise ConflictError(f"an agent with slug {slug!r} already exists in this workspace", field="slug") from None

    async def update_agent(
        self,
        workspace_id: str,
        ref: str,
        data: AgentUpdate,
        *,
        providers: Collection[str],
        actor_id: str | None,
        request_id: str | None = None,
    ) -> AgentRecord:
        """Change the fields ``data`` carries (archived agents too: a status restores them)."""
        if data.model_settings is not UNSET:
            check_model_settings(data.model_settings, set(providers))
        try:
            async with self.sessionmaker.begin() as session:
                row = await self._agent(session, workspace_id, ref)
                if data.slug is not UNSET and data.slug != row.slug:
                    await self._refuse_taken_slug(session, workspace_id, _agent_slug(data.slug))
                references = ("persona_id", "skill_ids", "model_settings", "tool_intents")
                changed = set_fields(row, data, skip=references, checks=NAME_AND_SLUG)
                if data.persona_id is not UNSET:
                    row.persona_id = await self._persona_id(session, workspace_id, data.persona_id)
                    changed.append("persona_id")
                if data.skill_ids is not UNSET:
                    row.skill_ids = await self._skill_ids(session, workspace_id, data.skill_ids)
                    changed.append("skill_ids")
                if data.model_settings is not UNSET:
                    row.model_settings = msgspec.to_builtins(data.model_settings)
                    changed.append("model_settings")
                version = None
                if data.tool_intents is not UNSET and _intents(data.tool_intents) != row.tool_intents:
                    row.tool_intents = _intents(data.tool_intents)
                    changed.append("tool_intents")
                    version = await bump(session, workspace_id)  # the views hold the agents' intents
                await session.flush()
                KernelStore._audit(
                    session, workspace_id, actor_id, "agent.updated", "agent", row.id, {"fields": changed}, request_id
                )
                record = (await self._agents(session, workspace_id, [row]))[0]
            await self._changed(workspace_id, version)
            return record
        except IntegrityError:
            raise ConflictError("an agent with that slug already exists in this workspace", field="slug") from None

    async def archive_agent(
        self, workspace_id: str, ref: str, *, actor_id: str | None, request_id: str | None = None
    ) -> None:
        """Archive an agent (archiving twice is a no-op)."""
        async with self.sessionmaker.begin() as session:
            row = await self._agent(session, workspace_id, ref)
            if row.status == "archived":
                return
            row.status = "archived"
            KernelStore._audit(session, workspace_id, actor_id, "agent.archived", "agent", row.id, {}, request_id)
        await self._changed(workspace_id)

    @staticmethod
    async def _refuse_taken_slug(session: AsyncSession, workspace_id: str, slug: str) -> None:
        """409 naming ``slug`` when an agent of the workspace holds it, saying so when that one is archived."""
        holder = await session.scalar(
            select(am.Agent).where(am.Agent.workspace_id == workspace_id, am.Agent.slug == slug).limit(1)
        )
        if holder is None:
            return
        if holder.status == "archived":
            raise ConflictError(
                f"slug {slug!r} belongs to an archived agent (id {holder.id}); restore it with"
                f" POST /api/agents/{holder.id}/restore, or choose another slug",
                field="slug",
            )
        raise ConflictError(f"an agent with slug {slug!r} already exists in this workspace", field="slug")

    async def restore_agent(
        self, workspace_id: str, ref: str, *, actor_id: str | None, request_id: str | None = None
    ) -> AgentRecord:
        """Make an archived agent active again (409 naming ``agent`` when it is not archived), audited."""
        async with self.sessionmaker.begin() as session:
            row = await self._agent(session, workspace_id, ref)
            if row.status != "archived":
                raise ConflictError(f"agent {row.slug!r} is not archived (it is {row.status})", field="agent")
            row.status = "active"
            await session.flush()
            KernelStore._audit(session, workspace_id, actor_id, "agent.restored", "agent", row.id, {}, request_id)
            record = (await self._agents(session, workspace_id, [row]))[0]
        await self._changed(workspace_id)
        return record

    @staticmethod
    async def _agent(session: AsyncSession, workspace_id: str, ref: str) -> am.Agent:
        row = None
        if lookable(ref):
            row = await session.scalar(
                select(am.Agent)
                .where(am.Agent.workspace_id == workspace_id, or_(am.Agent.id == ref, am.Agent.slug == ref))
                .order_by(am.Agent.id != ref)
                .limit(1)
            )
        if row is None:
            raise NotFoundError(f"agent {ref[:100]!r} does not exist in this workspace", field="agent")
        return row

    async def _persona_id(self, session: AsyncSession, workspace_id: str, ref: str | None) -> str | None:
        return None if ref is None else await self._reference(session, self.personas, workspace_id, ref, "persona_id")

    async def _skill_ids(self, session: AsyncSession, workspace_id: str, refs: Sequence[str]) -> list[str]:
        found: list[str] = []
        for ref in refs:
            skill_id = await self._reference(session, self.skills, workspace_id, ref, "skill_ids")
            if skill_id not in found:
                found.append(skill_id)
        return found

    @staticmethod
    async def _reference(
        session: AsyncSession, owned: Personas | Skills, workspace_id: str, ref: str, field: str
    ) -> str:
        """The id of the active persona or skill ``ref`` names for the workspace; 422 naming ``field``."""
        row = await owned.find(session, workspace_id, ref, scope=None, active=True)
        if row is None:
            noun = owned.noun
            raise ValidationError(
                f"{noun} {ref!r} does not exist here (a {noun} of the platform or of this workspace, by id or slug)",
                field=field,
            )
        found: str = row.id
        return found

    async def _agents(self, session: AsyncSession, workspace_id: str, rows: Sequence[am.Agent]) -> list[AgentRecord]:
        """Records with persona and skill summaries (two queries for the whole page, both tenant-filtered)."""
        personas = await self.personas.by_id(session, workspace_id, {r.persona_id for r in rows if r.persona_id})
        skills = await self.skills.by_id(session, workspace_id, {s for r in rows for s in (r.skill_ids or [])})
        records: list[AgentRecord] = []
        for row in rows:
            persona = personas.get(row.persona_id) if row.persona_id else None
            records.append(
                AgentRecord(
                    id=row.id,
                    workspace_id=row.workspace_id,
                    slug=row.slug,
                    name=row.name,
                    description=row.description,
                    instructions=row.instructions,
                    persona_id=row.persona_id,
                    persona=_summary(persona) if persona is not None else None,
                    skill_ids=list(row.skill_ids or []),
                    skills=[_summary(skills[s]) for s in row.skill_ids or [] if s in skills],
                    model_settings=model_settings_of(row),
                    tools=list(row.tools or []),
                    plugins=list(row.plugins or []),
                    tool_intents=row.tool_intents,
                    status=row.status,
                    created_by=row.created_by,
                    created_at=row.created_at,
                    updated_at=row.updated_at,
                )
            )
        return records
