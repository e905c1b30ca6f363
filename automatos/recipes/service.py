"""The recipes API's service: recipes as versioned data, runs and their control.

- **Recipes** (``/api/recipes``): created with a first version; ``PATCH`` with a ``definition``
  writes a new immutable version (name and description change in place); a run is pinned to the
  version it started with, so an edit never changes a run in flight. Every definition is checked
  (:func:`automatos.recipes.definition.check`) and its agents and tools must exist in the workspace
  — 422 naming ``definition.steps[i].agent``/``.tool``. ``DELETE`` archives (runs in flight go on).
- **The scratchpad**: a run's working notes, a JSON object in the KV backend (key
  ``recipes:scratchpad:<workspace>:<run>``) kept ``recipes.scratchpad_ttl_seconds`` (3,600) after
  its last write; templates read it as ``{{ scratchpad.<note> }}``. A KV backend that cannot
  answer makes its API a 503 with ``Retry-After`` (templates read ``{}`` meanwhile).
- **Runs**: ``start_run`` checks the inputs against the version's schema (422 naming
  ``inputs.<name>``), writes the run ``queued`` with its first event and hands it to the runner.
  Control — ``cancel``, ``retry`` (a failed run, from its failed step: finished steps are kept and
  never run again), ``approve``/``reject`` (a waiting approval step) — each in one transaction with
  the run locked, audited (``recipe.run_*``), then the runner is told.

Every query names the workspace: another workspace's recipe or run is a 404.

About 650 lines, one job: what the API may do to recipes and their runs (started through the
API, by a routing decision or by a trigger). Runs start from a recipe's pinned version and their
control takes the same run lock the engine takes; split further, the
version and lock rules would be read in two places.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from automatos.kernel.errors import (
    AutomatosError,
    ConflictError,
    NotFoundError,
    ServiceUnavailableError,
    ValidationError,
    echo,
)
from automatos.kernel.http import Page
from automatos.kernel.store import KernelStore
from automatos.recipes.definition import Definition, check
from automatos.recipes.engine import append_event, lock_run
from automatos.recipes.models import FINISHED, Recipe, RecipeRun, RecipeRunEvent, RecipeStepRun, RecipeVersion

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel
    from automatos.kernel.types import Workspace

__all__ = [
    "RecipeCreate",
    "RecipeRecord",
    "RecipeService",
    "RecipeUpdate",
    "RunRecord",
    "StepRecord",
    "read_scratchpad",
]

log = logging.getLogger("automatos.recipes")

Slug = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{0,99}$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Description = Annotated[str, msgspec.Meta(max_length=10_000)]

Exists = Callable[["Workspace", str], Awaitable[bool]]
"""``exists(workspace, ref)``: whether the workspace has that agent (or tool)."""
Submit = Callable[[str], Awaitable[None]]
"""``submit(run_id)``: hand a run to the runner."""


class RecipeCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    slug: Slug
    name: Name
    description: Description = ""
    definition: Definition


class RecipeUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET
    definition: Definition | msgspec.UnsetType = msgspec.UNSET
    """A new definition: a new version."""


class RecipeRecord(msgspec.Struct, kw_only=True):
    id: str
    slug: str
    name: str
    description: str
    version: int
    status: str
    definition: dict[str, Any]
    """The newest version's."""
    created_at: datetime
    updated_at: datetime


class StepRecord(msgspec.Struct, kw_only=True):
    step: str
    attempt: int
    status: str
    output: Any
    error: str | None
    idempotency_key: str
    started_at: datetime
    finished_at: datetime | None
    log_url: str | None = None
    """A pre-signed URL of the step's full log in the blob store (valid :data:`LOG_URL_SECONDS`)."""


class RunRecord(msgspec.Struct, kw_only=True):
    id: str
    recipe_id: str
    version: int
    status: str
    inputs: dict[str, Any]
    step: str | None
    error: str | None
    origin: str
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    steps: list[StepRecord] | None = None


async def read_scratchpad(kernel: Kernel, workspace_id: str, run_id: str) -> dict[str, Any]:
    """A run's notes as the KV backend holds them (``{}`` when none, expired, or unreadable)."""
    raw = await kernel.backends.kv.get(f"recipes:scratchpad:{workspace_id}:{run_id}")
    if raw is None:
        return {}
    try:
        notes = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return {}
    return notes if isinstance(notes, dict) else {}


@contextlib.contextmanager
def _kv_answers(run_id: str) -> Iterator[None]:
    """The scratchpad's API with the KV backend down (Redis in production, whose client raises when
    it cannot connect): a 503 with ``Retry-After``, not a 500 — the client can only retry, and the
    notes are there again once the backend answers. (A step's templates read ``{}`` instead: the
    engine fails open there, docs/recipes.md.)"""
    try:
        yield
    except AutomatosError:  # a refusal of ours (a TTL or value out of bounds): the client's to fix
        raise
    except Exception as exc:
        log.warning("run %s: the scratchpad's store did not answer (%s)", run_id, type(exc).__name__)
        raise ServiceUnavailableError("the scratchpad's store (the KV backend) is unavailable; retry shortly") from exc


def _recipe(row: Recipe, definition: dict[str, Any]) -> RecipeRecord:
    return RecipeRecord(
        id=row.id,
        slug=row.slug,
        name=row.name,
        description=row.description,
        version=row.version,
        status=row.status,
        definition=definition,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _run(row: RecipeRun, steps: list[RecipeStepRun] | None = None) -> RunRecord:
    return RunRecord(
        id=row.id,
        recipe_id=row.recipe_id,
        version=row.version,
        status=row.status,
        inputs=dict(row.inputs or {}),
        step=row.step,
        error=row.error,
        origin=row.origin,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        finished_at=row.finished_at,
        steps=None
        if steps is None
        else [
            StepRecord(
                step=s.step,
                attempt=s.attempt,
                status=s.status,
                output=s.output,
                error=s.error,
                idempotency_key=s.idempotency_key,
                started_at=s.started_at,
                finished_at=s.finished_at,
            )
            for s in steps
        ],
    )


SCRATCHPAD_BYTES = 65_536
"""The most one run's notes may take."""
LOG_URL_SECONDS = 900
"""How long a step log's pre-signed URL is valid."""


class RecipeService:
    """See the module docstring."""

    def __init__(self, kernel: Kernel, *, agent_exists: Exists, tool_exists: Exists) -> None:
        self.kernel = kernel
        self.sessionmaker = kernel.store.sessionmaker
        self.agent_exists = agent_exists
        self.tool_exists = tool_exists
        self.submit: Submit | None = None
        """Set by the runner when it starts; without it runs stay ``queued`` until one starts."""

    # --- recipes ------------------------------------------------------------------------------------

    async def _checked(self, workspace: Workspace, definition: Definition) -> dict[str, Any]:
        try:
            check(definition)
        except ValidationError as exc:
            raise ValidationError(f"definition.{exc.detail}", field=f"definition.{exc.field}") from None
        for i, step in enumerate(definition.steps):
            if step.agent is not None and not await self.agent_exists(workspace, step.agent):
                field = f"definition.steps[{i}].agent"
                raise ValidationError(f"{field}: this workspace has no agent {echo(step.agent)}", field=field)
            if step.tool is not None and not await self.tool_exists(workspace, step.tool):
                field = f"definition.steps[{i}].tool"
                raise ValidationError(f"{field}: this workspace has no tool {echo(step.tool)}", field=field)
        for i, ref in enumerate(definition.routes):
            if ref != "*" and not await self.agent_exists(workspace, ref):
                field = f"definition.routes[{i}]"
                raise ValidationError(f"{field}: this workspace has no agent {echo(ref)}", field=field)
        built: dict[str, Any] = msgspec.to_builtins(definition)
        return built

    async def create(
        self, workspace: Workspace, data: RecipeCreate, *, actor_id: str | None, request_id: str | None = None
    ) -> RecipeRecord:
        if data.slug == "runs":
            raise ValidationError("slug: 'runs' is reserved (/api/recipes/runs lists the runs)", field="slug")
        definition = await self._checked(workspace, data.definition)
        try:
            async with self.sessionmaker.begin() as session:
                row = Recipe(
                    workspace_id=workspace.id,
                    slug=data.slug,
                    name=data.name,
                    description=data.description,
                    version=1,
                    created_by=actor_id,
                )
                session.add(row)
                await session.flush()
                session.add(
                    RecipeVersion(
                        recipe_id=row.id,
                        version=1,
                        workspace_id=workspace.id,
                        definition=definition,
                        created_by=actor_id,
                    )
                )
                KernelStore._audit(
                    session, workspace.id, actor_id, "recipe.created", "recipe", row.id, {"slug": data.slug}, request_id
                )
                return _recipe(row, definition)
        except IntegrityError:
            raise ConflictError(f"a recipe with slug {data.slug!r} exists in this workspace", field="slug") from None

    async def _row(self, session: Any, workspace_id: str, ref: str) -> Recipe:
        row: Recipe | None = await session.scalar(
            select(Recipe).where(Recipe.workspace_id == workspace_id, or_(Recipe.id == ref, Recipe.slug == ref))
        )
        if row is None:
            raise NotFoundError(f"recipe {echo(ref)} does not exist in this workspace", field="recipe")
        return row

    async def _definition(self, session: Any, row: Recipe, version: int | None = None) -> dict[str, Any]:
        got = await session.get(RecipeVersion, (row.id, version or row.version))
        if got is None or got.workspace_id != row.workspace_id:
            raise NotFoundError(f"recipe {row.slug} has no version {version}", field="version")
        definition: dict[str, Any] = got.definition
        return definition

    async def get(self, workspace: Workspace, ref: str, version: int | None = None) -> RecipeRecord:
        async with self.sessionmaker() as session:
            row = await self._row(session, workspace.id, ref)
            record = _recipe(row, await self._definition(session, row, version))
            if version is not None:
                record.version = version
            return record

    async def list_recipes(
        self, workspace: Workspace, *, q: str | None = None, archived: bool = False, offset: int = 0, limit: int = 100
    ) -> Page[RecipeRecord]:
        where = [Recipe.workspace_id == workspace.id]
        if not archived:
            where.append(Recipe.status == "active")
        if q:
            needle = f"%{q.lower()}%"
            where.append(or_(func.lower(Recipe.name).like(needle), func.lower(Recipe.slug).like(needle)))
        async with self.sessionmaker() as session:
            total = int(await session.scalar(select(func.count()).select_from(Recipe).where(*where)) or 0)
            rows = (
                await session.execute(
                    select(Recipe, RecipeVersion.definition)
                    .join(
                        RecipeVersion,
                        (RecipeVersion.recipe_id == Recipe.id) & (RecipeVersion.version == Recipe.version),
                    )
                    .where(*where)
                    .order_by(Recipe.slug)
                    .offset(offset)
                    .limit(limit)
                )
            ).all()
        return Page(items=[_recipe(r, d) for r, d in rows], total=total, offset=offset, limit=limit)

    async def update(
        self,
        workspace: Workspace,
        ref: str,
        data: RecipeUpdate,
        *,
        actor_id: str | None,
        request_id: str | None = None,
    ) -> RecipeRecord:
        definition = None
        if not isinstance(data.definition, msgspec.UnsetType):
            definition = await self._checked(workspace, data.definition)
        async with self.sessionmaker.begin() as session:
            row = await self._row(session, workspace.id, ref)
            changed: list[str] = []
            if not isinstance(data.name, msgspec.UnsetType):
                row.name, changed = data.name, [*changed, "name"]
            if not isinstance(data.description, msgspec.UnsetType):
                row.description, changed = data.description, [*changed, "description"]
            if definition is not None:
                row.version += 1
                session.add(
                    RecipeVersion(
                        recipe_id=row.id,
                        version=row.version,
                        workspace_id=workspace.id,
                        definition=definition,
                        created_by=actor_id,
                    )
                )
                changed.append("definition")
            data_ = {"fields": changed, "version": row.version}
            KernelStore._audit(session, workspace.id, actor_id, "recipe.updated", "recipe", row.id, data_, request_id)
            await session.flush()
            return _recipe(row, definition if definition is not None else await self._definition(session, row))

    async def archive(self, workspace: Workspace, ref: str, *, actor_id: str | None, request_id: str | None) -> None:
        async with self.sessionmaker.begin() as session:
            row = await self._row(session, workspace.id, ref)
            if row.status != "archived":
                row.status = "archived"
                KernelStore._audit(session, workspace.id, actor_id, "recipe.archived", "recipe", row.id, {}, request_id)

    # --- runs ---------------------------------------------------------------------------------------

    async def start_run(
        self,
        workspace: Workspace,
        ref: str,
        inputs: Mapping[str, Any],
        *,
        actor_id: str | None,
        origin: str = "api",
        request_id: str | None = None,
    ) -> RunRecord:
        async with self.sessionmaker.begin() as session:
            recipe = await self._row(session, workspace.id, ref)
            if recipe.status != "active":
                raise ConflictError(f"recipe {recipe.slug} is archived", field="recipe")
            definition = await self._definition(session, recipe)
            schema = definition.get("inputs") or {}
            if schema:
                error = best_match(Draft202012Validator(schema).iter_errors(dict(inputs)))
                if error is not None:
                    field = "inputs" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
                    if error.validator == "required" and isinstance(error.validator_value, list):
                        missing = [p for p in error.validator_value if p not in inputs]
                        field += f".{missing[0]}" if missing else ""
                    raise ValidationError(f"{field}: {error.message[:300]}", field=field)
            run = RecipeRun(
                workspace_id=workspace.id,
                recipe_id=recipe.id,
                version=recipe.version,
                status="queued",
                inputs=dict(inputs),
                origin=origin,
                created_by=actor_id,
            )
            session.add(run)
            await session.flush()
            await append_event(session, run, "run.queued", {"recipe": recipe.slug, "version": recipe.version})
            data = {"recipe": recipe.slug, "version": recipe.version, "origin": origin}
            KernelStore._audit(
                session, workspace.id, actor_id, "recipe.run_started", "recipe_run", run.id, data, request_id
            )
            record = _run(run)
        if self.submit is not None:
            await self.submit(record.id)
        return record

    async def _listing(self, workspace: Workspace, wants: Callable[[dict[str, Any]], bool]) -> list[str]:
        """The slugs of the workspace's active recipes whose current definition ``wants``."""
        async with self.sessionmaker() as session:
            rows = (
                await session.execute(
                    select(Recipe.slug, RecipeVersion.definition)
                    .join(
                        RecipeVersion,
                        (RecipeVersion.recipe_id == Recipe.id) & (RecipeVersion.version == Recipe.version),
                    )
                    .where(Recipe.workspace_id == workspace.id, Recipe.status == "active")
                    .order_by(Recipe.slug)
                )
            ).all()
        return [slug for slug, definition in rows if wants(definition)]

    async def _start_each(
        self,
        workspace: Workspace,
        slugs: list[str],
        inputs: dict[str, Any],
        *,
        origin: str,
        actor_id: str | None = None,
        request_id: str | None = None,
    ) -> list[str]:
        """One run of each recipe with ``inputs``; its ids. A recipe whose inputs' schema refuses them,
        or archived meanwhile, is skipped (logged), never the others."""
        started: list[str] = []
        for slug in slugs:
            try:
                run = await self.start_run(
                    workspace, slug, inputs, actor_id=actor_id, origin=origin, request_id=request_id
                )
            except (ValidationError, ConflictError, NotFoundError) as exc:
                log.warning("workspace %s: recipe %s refused a %s start: %s", workspace.id, slug, origin, exc.detail)
                continue
            started.append(run.id)
        return started

    async def start_for_trigger(self, workspace: Workspace, source: str, payload: Mapping[str, Any]) -> list[str]:
        """Start one run of each active recipe whose ``triggers`` list ``source``'s event
        (``trigger:<provider>/<trigger>``: the key itself or ``<provider>/*``); its ids. A recipe
        whose inputs' schema refuses the event is skipped (logged), never the others."""
        key = source.removeprefix("trigger:")
        wanted = {key, key.split("/", 1)[0] + "/*"}
        slugs = await self._listing(workspace, lambda d: bool(wanted.intersection(d.get("triggers") or [])))
        return await self._start_each(workspace, slugs, {"trigger": key, "payload": dict(payload)}, origin="trigger")

    async def start_for_route(
        self,
        workspace: Workspace,
        route: Mapping[str, Any],
        message: Mapping[str, Any],
        *,
        actor_id: str | None,
        request_id: str | None = None,
    ) -> list[str]:
        """Start one run of each active recipe whose ``routes`` list the agent a routing decision
        chose (``route``: ``agent_id``, ``agent_slug``, ``confidence``, ``route_type``, ``tier``; by
        id, slug or ``*``), with the inputs ``{**message, "route": route}``, ``origin: route``; its
        ids. A recipe whose inputs' schema refuses them is skipped (logged), never the others."""
        refs = {"*", route.get("agent_id"), route.get("agent_slug")} - {None}
        slugs = await self._listing(workspace, lambda d: bool(refs.intersection(d.get("routes") or [])))
        inputs = {**message, "route": dict(route)}
        return await self._start_each(
            workspace, slugs, inputs, origin="route", actor_id=actor_id, request_id=request_id
        )

    async def get_run(self, workspace: Workspace, run_id: str) -> RunRecord:
        async with self.sessionmaker() as session:
            row = await session.scalar(
                select(RecipeRun).where(RecipeRun.workspace_id == workspace.id, RecipeRun.id == run_id)
            )
            if row is None:
                raise NotFoundError(f"run {echo(run_id)} does not exist in this workspace", field="run")
            steps = (
                await session.scalars(
                    select(RecipeStepRun)
                    .where(RecipeStepRun.workspace_id == workspace.id, RecipeStepRun.run_id == row.id)
                    .order_by(RecipeStepRun.started_at, RecipeStepRun.attempt)
                )
            ).all()
            record = _run(row, list(steps))
        blob = self.kernel.backends.blob
        for step, checkpoint in zip(record.steps or [], steps, strict=True):
            if checkpoint.log_key:
                try:
                    step.log_url = await blob.presigned_url(checkpoint.log_key, expires_in=LOG_URL_SECONDS)
                except Exception:  # a store that cannot sign: the run answers without the link
                    step.log_url = None
        return record

    async def list_runs(
        self,
        workspace: Workspace,
        *,
        recipe: str | None = None,
        status: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> Page[RunRecord]:
        where = [RecipeRun.workspace_id == workspace.id]
        async with self.sessionmaker() as session:
            if recipe is not None:
                where.append(RecipeRun.recipe_id == (await self._row(session, workspace.id, recipe)).id)
            if status is not None:
                where.append(RecipeRun.status == status)
            total = int(await session.scalar(select(func.count()).select_from(RecipeRun).where(*where)) or 0)
            rows = (
                await session.scalars(
                    select(RecipeRun).where(*where).order_by(RecipeRun.created_at.desc()).offset(offset).limit(limit)
                )
            ).all()
        return Page(items=[_run(r) for r in rows], total=total, offset=offset, limit=limit)

    # --- the scratchpad ---------------------------------------------------------------------------

    def _pad_key(self, workspace: Workspace, run_id: str) -> str:
        return f"recipes:scratchpad:{workspace.id}:{run_id}"

    async def scratchpad(self, workspace: Workspace, run_id: str) -> dict[str, Any]:
        """The run's working notes (404 for a run of another workspace); ``{}`` once they expired."""
        await self.get_run(workspace, run_id)
        with _kv_answers(run_id):
            return await read_scratchpad(self.kernel, workspace.id, run_id)

    async def note(self, workspace: Workspace, run_id: str, key: str, value: Any) -> dict[str, Any]:
        """Set one note (``value`` ``null`` removes it); the notes live ``recipes.scratchpad_ttl_seconds``
        after their last write (3,600 by default), at most :data:`SCRATCHPAD_BYTES` in all (422 naming
        ``value``)."""
        await self.get_run(workspace, run_id)
        with _kv_answers(run_id):
            notes = await read_scratchpad(self.kernel, workspace.id, run_id)
        if value is None:
            notes.pop(key, None)
        else:
            notes[key] = value
        raw = msgspec.json.encode(notes)
        if len(raw) > SCRATCHPAD_BYTES:
            raise ValidationError(
                f"value: the scratchpad would hold {len(raw):,} bytes; at most {SCRATCHPAD_BYTES:,}", field="value"
            )
        ttl = await self.kernel.settings_registry.int_setting("recipes.scratchpad_ttl_seconds", 3600, 1, 2_592_000)
        with _kv_answers(run_id):
            await self.kernel.backends.kv.set(self._pad_key(workspace, run_id), raw, ttl=ttl)
        return notes

    async def events(
        self, workspace: Workspace, run_id: str, *, after: int = 0, limit: int = 500
    ) -> list[tuple[int, str, dict[str, Any]]]:
        """The run's events after ``after`` (a ``Last-Event-ID``): ``(seq, kind, data)``; 404 for a
        run of another workspace."""
        async with self.sessionmaker() as session:
            exists = await session.scalar(
                select(RecipeRun.id).where(RecipeRun.workspace_id == workspace.id, RecipeRun.id == run_id)
            )
            if exists is None:
                raise NotFoundError(f"run {echo(run_id)} does not exist in this workspace", field="run")
            rows = (
                await session.execute(
                    select(RecipeRunEvent.seq, RecipeRunEvent.kind, RecipeRunEvent.data)
                    .where(
                        RecipeRunEvent.workspace_id == workspace.id,
                        RecipeRunEvent.run_id == run_id,
                        RecipeRunEvent.seq > after,
                    )
                    .order_by(RecipeRunEvent.seq)
                    .limit(limit)
                )
            ).all()
        return [(int(seq), str(kind), dict(data or {})) for seq, kind, data in rows]

    async def control(
        self,
        workspace: Workspace,
        run_id: str,
        action: str,
        *,
        actor_id: str | None,
        comment: str = "",
        request_id: str | None = None,
    ) -> RunRecord:
        """``cancel``, ``retry``, ``approve`` or ``reject`` (409 naming ``status`` when the run's
        state does not allow it)."""
        resubmit = False
        async with self.sessionmaker.begin() as session:
            run = await lock_run(session, workspace.id, run_id)
            if run is None:
                raise NotFoundError(f"run {echo(run_id)} does not exist in this workspace", field="run")
            if action == "cancel":
                if run.status in FINISHED:
                    raise ConflictError(f"the run is already {run.status}", field="status")
                run.status, run.finished_at = "cancelled", datetime.now(run.created_at.tzinfo)
                await append_event(session, run, "run.cancelled", {"by": actor_id})
            elif action == "retry":
                if run.status != "failed":
                    raise ConflictError(f"only a failed run is retried (this one is {run.status})", field="status")
                run.status, run.error, run.finished_at, run.not_before = "queued", None, None, None
                await append_event(session, run, "run.retried", {"step": run.step, "by": actor_id})
                resubmit = True
            elif action in ("approve", "reject"):
                waiting = await session.scalar(
                    select(RecipeStepRun).where(
                        RecipeStepRun.workspace_id == workspace.id,
                        RecipeStepRun.run_id == run.id,
                        RecipeStepRun.step == (run.step or ""),
                        RecipeStepRun.status == "waiting",
                    )
                )
                if run.status != "waiting" or waiting is None:
                    raise ConflictError(f"the run is not waiting for an approval ({run.status})", field="status")
                approved = action == "approve"
                waiting.status = "succeeded" if approved else "failed"
                waiting.output = {"approved": approved, "by": actor_id, "comment": comment}
                waiting.finished_at = datetime.now(run.created_at.tzinfo)
                await append_event(session, run, f"step.{action}d", {"step": run.step, "by": actor_id})
                if approved:
                    run.status = "queued"
                    resubmit = True
                else:
                    run.status, run.error = "failed", f"step {run.step}: rejected by {actor_id}"
                    run.finished_at = waiting.finished_at
                    await append_event(session, run, "run.failed", {"step": run.step, "error": run.error})
            else:
                raise ValidationError(f"unknown action {action!r}", field="action")
            KernelStore._audit(
                session, workspace.id, actor_id, f"recipe.run_{action}", "recipe_run", run.id, {}, request_id
            )
        if resubmit and self.submit is not None:
            await self.submit(run_id)
        return await self.get_run(workspace, run_id)
