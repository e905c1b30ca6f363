"""Agents, personas, skills and the reference catalogs: the queries and the rules.

Rules kept here, not in handlers, so the API and the CLI cannot disagree:
- every query on tenant rows is filtered by ``workspace_id``; a workspace sees the platform's
  personas and skills (``workspace_id IS NULL``, ``scope = "platform"``) next to its own
  (``scope = "workspace"``), and by slug its own row wins over a platform row of the same slug;
- a workspace changes only its own personas and skills; the platform's rows are changed by
  platform admins (the caller checks who may ask for ``scope = "platform"``);
- an agent's persona and skills must be active and visible to its workspace (referenced by id or
  slug, stored by id); its model settings must name a provider the workspace can use
  (:func:`automatos.agents.records.check_model_settings`). A model name the catalog does not list
  is accepted: catalogs lag behind providers, and the offline provider answers any model;
- slugs follow :func:`automatos.workspaces.service.validate_slug` and may not look like a row id (a
  reference is an id or a slug: the two must not be confusable);
- deleting archives (``status = 'archived'``; ``deprecated`` for a model): rows stay referenced
  by agents and usage history. An archived agent keeps its slug and stays readable by id or slug
  (``status: archived``; lists show it with ``include_archived``); taking its slug answers 409
  saying so, and ``restore_agent`` brings it back (the rule workspaces follow too:
  :mod:`automatos.workspaces.archive`);
- every change is audited in the same transaction, with its actor and request id (platform rows
  with ``workspace_id = None``). Audit data names what changed, never the values.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from automatos.agents import models as am
from automatos.agents.records import (
    ModelSettings,
    ProviderName,
    check_model_settings,
    from_row,
    model_settings_of,
    page,
)
from automatos.agents.runtime import agents_of
from automatos.kernel.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from automatos.kernel.store import KernelStore
from automatos.workspaces.service import validate_slug

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel
    from automatos.kernel.types import Workspace

__all__ = [
    "AgentCreate",
    "AgentRecord",
    "AgentUpdate",
    "CatalogService",
    "CredentialTypeRecord",
    "ModelCreate",
    "ModelRecord",
    "ModelUpdate",
    "PersonaCreate",
    "PersonaRecord",
    "PersonaUpdate",
    "PluginCategoryRecord",
    "Scope",
    "SkillCreate",
    "SkillRecord",
    "SkillUpdate",
    "Summary",
    "llm_provider_names",
]

Scope = Literal["platform", "workspace"]
AgentStatus = Literal["active", "paused"]
OwnedStatus = Literal["active", "archived"]
ModelStatus = Literal["active", "deprecated"]
ModelKind = Literal["chat", "embedding"]

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Slug = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=63,
        description="1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'.",
    ),
]
Reference = Annotated[str, msgspec.Meta(min_length=1, max_length=100, description="An id or a slug.")]
Description = Annotated[str, msgspec.Meta(max_length=10_000)]
LongText = Annotated[str, msgspec.Meta(max_length=100_000)]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Labels = Annotated[list[Label], msgspec.Meta(max_length=100)]
References = Annotated[list[Reference], msgspec.Meta(max_length=100)]
Tokens = Annotated[int, msgspec.Meta(ge=1, le=100_000_000)]
Price = Annotated[float, msgspec.Meta(ge=0.0, le=1.0, description="US dollars per token.")]

_ID_SHAPE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


# -- what callers send -----------------------------------------------------------------------------


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
    status: AgentStatus | UnsetType = UNSET
    """``active`` or ``paused``; also restores an archived agent."""


class PersonaCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name
    slug: Slug
    description: Description = ""
    system_prompt: LongText = ""
    traits: Labels = []


class PersonaUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name | UnsetType = UNSET
    slug: Slug | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    system_prompt: LongText | UnsetType = UNSET
    traits: Labels | UnsetType = UNSET
    status: OwnedStatus | UnsetType = UNSET


class SkillCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name
    slug: Slug
    description: Description = ""
    instructions: LongText = ""
    tags: Labels = []


class SkillUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name | UnsetType = UNSET
    slug: Slug | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    instructions: LongText | UnsetType = UNSET
    tags: Labels | UnsetType = UNSET
    status: OwnedStatus | UnsetType = UNSET


class ModelCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    provider: ProviderName
    model: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    display_name: Name
    kind: ModelKind = "chat"
    context_window: Tokens
    max_output_tokens: Tokens | None = None
    input_price: Price = 0.0
    output_price: Price = 0.0
    capabilities: Labels = []
    status: ModelStatus = "active"


class ModelUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``provider`` and ``model`` are the row's natural key and do not change."""

    display_name: Name | UnsetType = UNSET
    kind: ModelKind | UnsetType = UNSET
    context_window: Tokens | UnsetType = UNSET
    max_output_tokens: Tokens | UnsetType | None = UNSET
    input_price: Price | UnsetType = UNSET
    output_price: Price | UnsetType = UNSET
    capabilities: Labels | UnsetType = UNSET
    status: ModelStatus | UnsetType = UNSET


# -- what callers get ------------------------------------------------------------------------------


class Summary(msgspec.Struct, kw_only=True):
    id: str
    slug: str
    name: str


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
    status: str
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class PersonaRecord(msgspec.Struct, kw_only=True):
    id: str
    scope: str = "workspace"
    """``platform`` (every workspace sees it, read-only) or ``workspace`` (this workspace's own)."""
    slug: str
    name: str
    description: str
    system_prompt: str
    traits: list[str]
    status: str
    created_at: datetime
    updated_at: datetime


class SkillRecord(msgspec.Struct, kw_only=True):
    id: str
    scope: str = "workspace"
    """``platform`` (every workspace sees it, read-only) or ``workspace`` (this workspace's own)."""
    slug: str
    name: str
    description: str
    instructions: str
    tags: list[str]
    status: str
    created_at: datetime
    updated_at: datetime


class ModelRecord(msgspec.Struct, kw_only=True):
    id: str
    provider: str
    model: str
    display_name: str
    kind: str
    context_window: int
    max_output_tokens: int | None
    input_price: float
    output_price: float
    capabilities: list[str]
    status: str
    created_at: datetime
    updated_at: datetime


class CredentialTypeRecord(msgspec.Struct, kw_only=True):
    slug: str
    name: str
    category: str
    auth_type: str
    fields: list[dict[str, Any]]
    docs_url: str


class PluginCategoryRecord(msgspec.Struct, kw_only=True):
    slug: str
    name: str
    description: str
    position: int


def _scope(workspace_id: str | None) -> Scope:
    return "platform" if workspace_id is None else "workspace"


def _summary(row: am.Persona | am.Skill) -> Summary:
    return Summary(id=row.id, slug=row.slug, name=row.name)


def _persona(row: am.Persona) -> PersonaRecord:
    return msgspec.structs.replace(from_row(row, PersonaRecord), scope=_scope(row.workspace_id))


def _skill(row: am.Skill) -> SkillRecord:
    return msgspec.structs.replace(from_row(row, SkillRecord), scope=_scope(row.workspace_id))


def _model(row: am.LLMModel) -> ModelRecord:
    return from_row(row, ModelRecord)


def _credential_type(row: am.CredentialType) -> CredentialTypeRecord:
    return from_row(row, CredentialTypeRecord)


def _plugin_category(row: am.PluginCategory) -> PluginCategoryRecord:
    return from_row(row, PluginCategoryRecord)


def _lookable(ref: str) -> bool:
    """Whether ``ref`` could name a row at all (a NUL never reaches SQL: PostgreSQL refuses it)."""
    return 0 < len(ref) <= 200 and "\x00" not in ref


def _slug(slug: str) -> str:
    validate_slug(slug)
    if _ID_SHAPE.match(slug):
        raise ValidationError("slug must not have the shape of an id (a UUID)", field="slug")
    return slug


_RESERVED_AGENT_SLUGS = frozenset({"auto"})
"""``model: "auto"`` on ``/v1`` asks the router to choose: an agent of that slug could never be called."""


def _agent_slug(slug: str) -> str:
    slug = _slug(slug)
    if slug.lower() in _RESERVED_AGENT_SLUGS:
        raise ValidationError(
            f"slug {slug!r} is reserved (/v1 model {slug!r} asks the router to choose an agent)", field="slug"
        )
    return slug


def _name(name: str, field: str = "name") -> str:
    name = name.strip()
    if not name:
        raise ValidationError(f"{field} must not be blank", field=field)
    return name


def _set_fields(row: Any, data: msgspec.Struct, *, skip: Collection[str] = ()) -> list[str]:
    """Copy the fields ``data`` carries onto ``row``; returns their names (audited, not their values)."""
    changed: list[str] = []
    for field in data.__struct_fields__:
        value = getattr(data, field)
        if value is UNSET or field in skip:
            continue
        if field == "name":
            value = _name(value)
        elif field == "slug":
            value = _slug(value)
        setattr(row, field, list(value) if isinstance(value, list) else value)
        changed.append(field)
    return changed


async def llm_provider_names(kernel: Kernel, workspace: Workspace) -> set[str]:
    """The LLM providers the workspace can use: those its enabled extensions register."""
    return set((await agents_of(kernel).llm_providers(workspace)).items)


class _Owned:
    """What personas and skills share: platform rows next to a workspace's own."""

    def __init__(self, model: Any, noun: str) -> None:
        self.model = model
        self.noun = noun

    def visible(self, workspace_id: str | None) -> Any:
        column = self.model.workspace_id
        if workspace_id is None:
            return column.is_(None)
        return or_(column.is_(None), column == workspace_id)

    async def find(
        self, session: AsyncSession, workspace_id: str | None, ref: str, *, scope: Scope | None, active: bool = False
    ) -> Any:
        """The row ``ref`` (id or slug) names: an id match, else this workspace's own, else the platform's."""
        if not _lookable(ref):
            return None
        query = select(self.model).where(or_(self.model.id == ref, self.model.slug == ref))
        if scope == "platform":
            query = query.where(self.model.workspace_id.is_(None))
        elif scope == "workspace":
            if workspace_id is None:
                return None
            query = query.where(self.model.workspace_id == workspace_id)
        else:
            query = query.where(self.visible(workspace_id))
        if active:
            query = query.where(self.model.status == "active")
        rows = list(await session.scalars(query))
        rows.sort(key=lambda r: (r.id != ref, r.workspace_id is None))
        return rows[0] if rows else None

    async def get(self, session: AsyncSession, workspace_id: str | None, ref: str, *, scope: Scope | None) -> Any:
        row = await self.find(session, workspace_id, ref, scope=scope)
        if row is None:
            raise NotFoundError(f"{self.noun} {ref[:100]!r} does not exist here", field=self.noun)
        return row

    async def writable(self, session: AsyncSession, workspace_id: str | None, ref: str, scope: Scope) -> Any:
        """The row a write names. Without ``scope=platform`` a platform row is found but refused (403)."""
        if scope == "platform":
            return await self.get(session, None, ref, scope="platform")
        row = await self.get(session, workspace_id, ref, scope=None)
        if row.workspace_id is None:
            raise PermissionDeniedError(
                f"{self.noun} {row.slug!r} is the platform's and read-only to workspaces; copy it into a {self.noun}"
                " of your own (platform admins change it with ?scope=platform)",
                field=self.noun,
            )
        return row

    async def page(
        self,
        session: AsyncSession,
        workspace_id: str | None,
        *,
        scope: Scope | None,
        status: str | None,
        q: str | None,
        offset: int,
        limit: int,
    ) -> tuple[list[Any], int]:
        model = self.model
        query = select(model).where(self.visible(workspace_id))
        if scope == "platform":
            query = query.where(model.workspace_id.is_(None))
        elif scope == "workspace":
            query = query.where(model.workspace_id == workspace_id if workspace_id else model.id.is_(None))
        query = query.where(model.status == status) if status else query.where(model.status != "archived")
        if q:
            query = query.where(or_(model.name.icontains(q, autoescape=True), model.slug.icontains(q, autoescape=True)))
        return await page(session, query.order_by(model.workspace_id.is_not(None), model.slug, model.id), offset, limit)

    async def create(
        self,
        session: AsyncSession,
        workspace_id: str | None,
        data: PersonaCreate | SkillCreate,
        *,
        actor_id: str | None,
        request_id: str | None,
    ) -> Any:
        slug = _slug(data.slug)
        if await self.find(session, workspace_id, slug, scope=_scope(workspace_id)) is not None:
            raise ConflictError(f"a {self.noun} with slug {slug!r} already exists", field="slug")
        row = self.model(workspace_id=workspace_id, status="active")
        _set_fields(row, data)
        session.add(row)
        await session.flush()
        KernelStore._audit(
            session, workspace_id, actor_id, f"{self.noun}.created", self.noun, row.id, {"slug": slug}, request_id
        )
        return row

    async def update(
        self,
        session: AsyncSession,
        row: Any,
        data: PersonaUpdate | SkillUpdate,
        *,
        actor_id: str | None,
        request_id: str | None,
    ) -> Any:
        if data.slug is not UNSET and data.slug != row.slug:
            slug = _slug(data.slug)
            if await self.find(session, row.workspace_id, slug, scope=_scope(row.workspace_id)) is not None:
                raise ConflictError(f"a {self.noun} with slug {slug!r} already exists", field="slug")
        changed = _set_fields(row, data)
        await session.flush()
        KernelStore._audit(
            session, row.workspace_id, actor_id, f"{self.noun}.updated", self.noun, row.id, {"fields": changed},
            request_id,
        )  # fmt: skip
        return row

    async def archive(self, session: AsyncSession, row: Any, *, actor_id: str | None, request_id: str | None) -> None:
        if row.status == "archived":
            return
        row.status = "archived"
        KernelStore._audit(
            session, row.workspace_id, actor_id, f"{self.noun}.archived", self.noun, row.id, {}, request_id
        )


PERSONAS = _Owned(am.Persona, "persona")
SKILLS = _Owned(am.Skill, "skill")


class CatalogService:
    """Agents, personas, skills, the model catalog and the reference catalogs of one database."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    # -- agents ----------------------------------------------------------------------------------

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
                row = await PERSONAS.find(session, workspace_id, persona, scope=None)
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
        """``providers``: the LLM providers the workspace can use (:func:`llm_provider_names`)."""
        slug = _agent_slug(data.slug)
        name = _name(data.name)
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
                    status=data.status,
                    created_by=actor_id,
                )
                session.add(row)
                await session.flush()
                KernelStore._audit(
                    session, workspace_id, actor_id, "agent.created", "agent", row.id, {"slug": slug}, request_id
                )
                return (await self._agents(session, workspace_id, [row]))[0]
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
                changed = _set_fields(row, data, skip=("persona_id", "skill_ids", "model_settings"))
                if data.persona_id is not UNSET:
                    row.persona_id = await self._persona_id(session, workspace_id, data.persona_id)
                    changed.append("persona_id")
                if data.skill_ids is not UNSET:
                    row.skill_ids = await self._skill_ids(session, workspace_id, data.skill_ids)
                    changed.append("skill_ids")
                if data.model_settings is not UNSET:
                    row.model_settings = msgspec.to_builtins(data.model_settings)
                    changed.append("model_settings")
                await session.flush()
                KernelStore._audit(
                    session, workspace_id, actor_id, "agent.updated", "agent", row.id, {"fields": changed}, request_id
                )
                return (await self._agents(session, workspace_id, [row]))[0]
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
            return (await self._agents(session, workspace_id, [row]))[0]

    @staticmethod
    async def _agent(session: AsyncSession, workspace_id: str, ref: str) -> am.Agent:
        row = None
        if _lookable(ref):
            row = await session.scalar(
                select(am.Agent)
                .where(am.Agent.workspace_id == workspace_id, or_(am.Agent.id == ref, am.Agent.slug == ref))
                .order_by(am.Agent.id != ref)
                .limit(1)
            )
        if row is None:
            raise NotFoundError(f"agent {ref[:100]!r} does not exist in this workspace", field="agent")
        return row

    @staticmethod
    async def _persona_id(session: AsyncSession, workspace_id: str, ref: str | None) -> str | None:
        if ref is None:
            return None
        row = await PERSONAS.find(session, workspace_id, ref, scope=None, active=True)
        if row is None:
            raise ValidationError(
                f"persona {ref!r} does not exist here (a persona of the platform or of this workspace, by id or slug)",
                field="persona_id",
            )
        persona_id: str = row.id
        return persona_id

    @staticmethod
    async def _skill_ids(session: AsyncSession, workspace_id: str, refs: Sequence[str]) -> list[str]:
        found: list[str] = []
        for ref in refs:
            row = await SKILLS.find(session, workspace_id, ref, scope=None, active=True)
            if row is None:
                raise ValidationError(
                    f"skill {ref!r} does not exist here (a skill of the platform or of this workspace, by id or slug)",
                    field="skill_ids",
                )
            if row.id not in found:
                found.append(row.id)
        return found

    @staticmethod
    async def _agents(session: AsyncSession, workspace_id: str, rows: Sequence[am.Agent]) -> list[AgentRecord]:
        """Records with persona and skill summaries (two queries for the whole page, both tenant-filtered)."""
        persona_ids = {r.persona_id for r in rows if r.persona_id}
        skill_ids = {s for r in rows for s in (r.skill_ids or [])}
        personas: dict[str, am.Persona] = {}
        skills: dict[str, am.Skill] = {}
        if persona_ids:
            found = await session.scalars(
                select(am.Persona).where(am.Persona.id.in_(persona_ids), PERSONAS.visible(workspace_id))
            )
            personas = {p.id: p for p in found}
        if skill_ids:
            found_skills = await session.scalars(
                select(am.Skill).where(am.Skill.id.in_(skill_ids), SKILLS.visible(workspace_id))
            )
            skills = {s.id: s for s in found_skills}
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
                    status=row.status,
                    created_by=row.created_by,
                    created_at=row.created_at,
                    updated_at=row.updated_at,
                )
            )
        return records

    # -- personas and skills ---------------------------------------------------------------------

    async def list_personas(
        self,
        workspace_id: str | None,
        *,
        scope: Scope | None = None,
        status: str | None = None,
        q: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[list[PersonaRecord], int]:
        """The platform's personas and the workspace's own (``workspace_id=None``: the platform's only)."""
        async with self.sessionmaker() as session:
            rows, total = await PERSONAS.page(
                session, workspace_id, scope=scope, status=status, q=q, offset=offset, limit=limit
            )
            return [_persona(r) for r in rows], total

    async def get_persona(self, workspace_id: str | None, ref: str) -> PersonaRecord:
        async with self.sessionmaker() as session:
            return _persona(await PERSONAS.get(session, workspace_id, ref, scope=None))

    async def create_persona(
        self,
        workspace_id: str | None,
        data: PersonaCreate,
        *,
        actor_id: str | None,
        request_id: str | None = None,
    ) -> PersonaRecord:
        """A persona of the workspace, or with ``workspace_id=None`` of the platform."""
        return _persona(await self._create(PERSONAS, workspace_id, data, actor_id, request_id))

    async def update_persona(
        self,
        workspace_id: str | None,
        ref: str,
        data: PersonaUpdate,
        *,
        scope: Scope = "workspace",
        actor_id: str | None,
        request_id: str | None = None,
    ) -> PersonaRecord:
        return _persona(await self._update(PERSONAS, workspace_id, ref, data, scope, actor_id, request_id))

    async def archive_persona(
        self,
        workspace_id: str | None,
        ref: str,
        *,
        scope: Scope = "workspace",
        actor_id: str | None,
        request_id: str | None = None,
    ) -> None:
        await self._archive(PERSONAS, workspace_id, ref, scope, actor_id, request_id)

    async def list_skills(
        self,
        workspace_id: str | None,
        *,
        scope: Scope | None = None,
        status: str | None = None,
        q: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[list[SkillRecord], int]:
        """The platform's skills and the workspace's own (``workspace_id=None``: the platform's only)."""
        async with self.sessionmaker() as session:
            rows, total = await SKILLS.page(
                session, workspace_id, scope=scope, status=status, q=q, offset=offset, limit=limit
            )
            return [_skill(r) for r in rows], total

    async def get_skill(self, workspace_id: str | None, ref: str) -> SkillRecord:
        async with self.sessionmaker() as session:
            return _skill(await SKILLS.get(session, workspace_id, ref, scope=None))

    async def create_skill(
        self,
        workspace_id: str | None,
        data: SkillCreate,
        *,
        actor_id: str | None,
        request_id: str | None = None,
    ) -> SkillRecord:
        """A skill of the workspace, or with ``workspace_id=None`` of the platform."""
        return _skill(await self._create(SKILLS, workspace_id, data, actor_id, request_id))

    async def update_skill(
        self,
        workspace_id: str | None,
        ref: str,
        data: SkillUpdate,
        *,
        scope: Scope = "workspace",
        actor_id: str | None,
        request_id: str | None = None,
    ) -> SkillRecord:
        return _skill(await self._update(SKILLS, workspace_id, ref, data, scope, actor_id, request_id))

    async def archive_skill(
        self,
        workspace_id: str | None,
        ref: str,
        *,
        scope: Scope = "workspace",
        actor_id: str | None,
        request_id: str | None = None,
    ) -> None:
        await self._archive(SKILLS, workspace_id, ref, scope, actor_id, request_id)

    async def _create(
        self,
        kind: _Owned,
        workspace_id: str | None,
        data: PersonaCreate | SkillCreate,
        actor_id: str | None,
        request_id: str | None,
    ) -> Any:
        try:
            async with self.sessionmaker.begin() as session:
                return await kind.create(session, workspace_id, data, actor_id=actor_id, request_id=request_id)
        except IntegrityError:
            raise ConflictError(f"a {kind.noun} with that slug already exists", field="slug") from None

    async def _update(
        self,
        kind: _Owned,
        workspace_id: str | None,
        ref: str,
        data: PersonaUpdate | SkillUpdate,
        scope: Scope,
        actor_id: str | None,
        request_id: str | None,
    ) -> Any:
        try:
            async with self.sessionmaker.begin() as session:
                row = await kind.writable(session, workspace_id, ref, scope)
                return await kind.update(session, row, data, actor_id=actor_id, request_id=request_id)
        except IntegrityError:
            raise ConflictError(f"a {kind.noun} with that slug already exists", field="slug") from None

    async def _archive(
        self,
        kind: _Owned,
        workspace_id: str | None,
        ref: str,
        scope: Scope,
        actor_id: str | None,
        request_id: str | None,
    ) -> None:
        async with self.sessionmaker.begin() as session:
            row = await kind.writable(session, workspace_id, ref, scope)
            await kind.archive(session, row, actor_id=actor_id, request_id=request_id)

    # -- the model catalog -----------------------------------------------------------------------

    async def list_models(
        self,
        *,
        provider: str | None = None,
        kind: str | None = None,
        capability: str | None = None,
        status: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[list[ModelRecord], int]:
        """Models by provider and name; deprecated ones only when ``status`` asks."""
        query = select(am.LLMModel)
        if provider:
            query = query.where(am.LLMModel.provider == provider)
        if kind:
            query = query.where(am.LLMModel.kind == kind)
        query = query.where(am.LLMModel.status == status) if status else query.where(am.LLMModel.status != "deprecated")
        query = query.order_by(am.LLMModel.provider, am.LLMModel.model, am.LLMModel.id)
        async with self.sessionmaker() as session:
            if capability:  # a JSON list: filtered here, the same on every database (the catalog is small)
                matching = [r for r in await session.scalars(query) if capability in (r.capabilities or [])]
                return [_model(r) for r in matching[offset : offset + limit]], len(matching)
            rows, total = await page(session, query, offset, limit)
            return [_model(r) for r in rows], total

    async def get_model(self, model_id: str) -> ModelRecord:
        async with self.sessionmaker() as session:
            return _model(await self._model_row(session, model_id))

    async def create_model(
        self, data: ModelCreate, *, actor_id: str | None, request_id: str | None = None
    ) -> ModelRecord:
        taken = ConflictError(f"model {data.model!r} of provider {data.provider!r} is already listed", field="model")
        try:
            async with self.sessionmaker.begin() as session:
                if await session.scalar(
                    select(am.LLMModel.id).where(am.LLMModel.provider == data.provider, am.LLMModel.model == data.model)
                ):
                    raise taken
                row = am.LLMModel(
                    provider=data.provider, model=data.model, display_name=_name(data.display_name, "display_name")
                )
                _set_fields(row, data, skip=("provider", "model", "display_name"))
                session.add(row)
                await session.flush()
                audit = {"provider": data.provider, "model": data.model}
                KernelStore._audit(session, None, actor_id, "llm_model.created", "llm_model", row.id, audit, request_id)
                return _model(row)
        except IntegrityError:
            raise taken from None

    async def update_model(
        self, model_id: str, data: ModelUpdate, *, actor_id: str | None, request_id: str | None = None
    ) -> ModelRecord:
        async with self.sessionmaker.begin() as session:
            row = await self._model_row(session, model_id)
            if data.display_name is not UNSET:
                data.display_name = _name(data.display_name, "display_name")
            changed = _set_fields(row, data)
            await session.flush()
            KernelStore._audit(
                session, None, actor_id, "llm_model.updated", "llm_model", row.id, {"fields": changed}, request_id
            )
            return _model(row)

    async def deprecate_model(self, model_id: str, *, actor_id: str | None, request_id: str | None = None) -> None:
        async with self.sessionmaker.begin() as session:
            row = await self._model_row(session, model_id)
            if row.status == "deprecated":
                return
            row.status = "deprecated"
            KernelStore._audit(session, None, actor_id, "llm_model.deprecated", "llm_model", row.id, {}, request_id)

    @staticmethod
    async def _model_row(session: AsyncSession, model_id: str) -> am.LLMModel:
        row = await session.get(am.LLMModel, model_id) if _lookable(model_id) else None
        if row is None:
            raise NotFoundError(f"model {model_id[:100]!r} is not in the catalog", field="model_id")
        return row

    # -- reference catalogs ----------------------------------------------------------------------

    async def list_credential_types(
        self, *, category: str | None = None, offset: int = 0, limit: int = 100
    ) -> tuple[list[CredentialTypeRecord], int]:
        query = select(am.CredentialType)
        if category:
            query = query.where(am.CredentialType.category == category)
        async with self.sessionmaker() as session:
            rows, total = await page(session, query.order_by(am.CredentialType.slug), offset, limit)
            return [_credential_type(r) for r in rows], total

    async def get_credential_type(self, slug: str) -> CredentialTypeRecord:
        async with self.sessionmaker() as session:
            row = await session.get(am.CredentialType, slug) if _lookable(slug) else None
            if row is None:
                raise NotFoundError(f"credential type {slug[:100]!r} does not exist", field="slug")
            return _credential_type(row)

    async def list_plugin_categories(
        self, *, offset: int = 0, limit: int = 100
    ) -> tuple[list[PluginCategoryRecord], int]:
        query = select(am.PluginCategory)
        async with self.sessionmaker() as session:
            rows, total = await page(
                session, query.order_by(am.PluginCategory.position, am.PluginCategory.slug), offset, limit
            )
            return [_plugin_category(r) for r in rows], total

    async def get_plugin_category(self, slug: str) -> PluginCategoryRecord:
        async with self.sessionmaker() as session:
            row = await session.get(am.PluginCategory, slug) if _lookable(slug) else None
            if row is None:
                raise NotFoundError(f"plugin category {slug[:100]!r} does not exist", field="slug")
            return _plugin_category(row)
