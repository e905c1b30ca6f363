"""Recipes and their runs: ``/api/recipes`` (docs/recipes.md). Thin: the rules are
:mod:`automatos.recipes.service`'s; the workspace is the request's.

- ``GET /api/recipes`` (``agents.read``; ``q``, ``archived``, pages), ``POST`` (``agents.manage``),
  ``GET /api/recipes/{recipe}`` (``?version=`` for an older one), ``PATCH`` (a new ``definition``
  is a new version), ``DELETE`` (archives).
- ``POST /api/recipes/{recipe}/runs`` ``{"inputs": {…}}`` (``agents.use``): 202 with the run.
- ``GET /api/recipes/runs`` (``recipe``, ``status``, pages) and ``GET /api/recipes/runs/{run}``
  (with its step checkpoints).
- ``POST /api/recipes/runs/{run}/cancel``, ``/retry``, ``/approve``, ``/reject``
  (``agents.use``; ``{"comment": "…"}`` optional): the run after the action; 409 naming ``status``
  when its state does not allow it.
- ``GET /api/recipes/runs/{run}/scratchpad`` (``agents.read``) and ``PUT …/scratchpad/{key}``
  ``{"value": …}`` (``agents.use``): the run's working notes in the KV backend, kept
  ``recipes.scratchpad_ttl_seconds`` after the last write; templates read them.
- ``GET /api/recipes/runs/{run}/events`` (``agents.read``): Server-Sent Events, one per entry of
  the run's log (``id`` = its sequence number, ``event`` = its kind), from the start or after
  ``Last-Event-ID``; the stream ends after the run finishes.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, delete, get, patch, post, put
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Stream

from automatos.api.controllers.chat import sse_headers
from automatos.api.dependencies import request_context, scoped, services
from automatos.api.pagination import DEFAULT_LIMIT, Limit, Offset, Page
from automatos.kernel.errors import ValidationError
from automatos.kernel.permissions import Permission
from automatos.recipes.models import FINISHED
from automatos.recipes.service import RecipeCreate, RecipeRecord, RecipeUpdate, RunRecord

__all__ = ["RecipeRunsController", "RecipesController"]

POLL_SECONDS = 0.5
"""How long an events stream waits before reading the log again (a change on this node wakes it at once)."""


class RunStart(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    inputs: dict[str, Any] = {}


NOTE_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class Note(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    value: Any
    """Any JSON value; ``null`` removes the note."""


class RunAction(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    comment: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class RecipesController(Controller):
    path = "/api/recipes"
    tags = ["recipes"]

    @get("/", summary="The workspace's recipes")
    async def list_recipes(
        self,
        request: Request[Any, Any, Any],
        q: Annotated[str | None, QueryParameter(max_length=200)] = None,
        archived: FromQuery[bool] = False,
        offset: Offset = 0,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[RecipeRecord]:
        _, ctx = await request_context(request)
        workspace = scoped(ctx, Permission.AGENTS_READ).workspace
        return (
            await services(request)
            .recipes()
            .list_recipes(workspace, q=q, archived=archived, offset=offset, limit=limit)
        )

    @post("/", summary="Create a recipe (its first version)", status_code=201)
    async def create(self, request: Request[Any, Any, Any], data: JSONBody[RecipeCreate]) -> RecipeRecord:
        _, ctx = await request_context(request)
        got = scoped(ctx, Permission.AGENTS_MANAGE)
        return (
            await services(request)
            .recipes()
            .create(got.workspace, data, actor_id=got.principal.id, request_id=got.request_id)
        )

    @get("/{recipe:str}", summary="One recipe with its newest (or a given) version's definition")
    async def get_recipe(
        self,
        request: Request[Any, Any, Any],
        recipe: FromPath[str],
        version: Annotated[int | None, QueryParameter(ge=1, le=1_000_000)] = None,
    ) -> RecipeRecord:
        _, ctx = await request_context(request)
        workspace = scoped(ctx, Permission.AGENTS_READ).workspace
        return await services(request).recipes().get(workspace, recipe, version)

    @patch("/{recipe:str}", summary="Change a recipe; a new definition is a new version")
    async def update(
        self, request: Request[Any, Any, Any], recipe: FromPath[str], data: JSONBody[RecipeUpdate]
    ) -> RecipeRecord:
        _, ctx = await request_context(request)
        got = scoped(ctx, Permission.AGENTS_MANAGE)
        return (
            await services(request)
            .recipes()
            .update(got.workspace, recipe, data, actor_id=got.principal.id, request_id=got.request_id)
        )

    @delete("/{recipe:str}", summary="Archive a recipe (runs in flight go on)", status_code=204)
    async def archive(self, request: Request[Any, Any, Any], recipe: FromPath[str]) -> None:
        _, ctx = await request_context(request)
        got = scoped(ctx, Permission.AGENTS_MANAGE)
        await (
            services(request)
            .recipes()
            .archive(got.workspace, recipe, actor_id=got.principal.id, request_id=got.request_id)
        )

    @post("/{recipe:str}/runs", summary="Start a run of the recipe's newest version", status_code=202)
    async def start(
        self, request: Request[Any, Any, Any], recipe: FromPath[str], data: JSONBody[RunStart]
    ) -> RunRecord:
        _, ctx = await request_context(request)
        got = scoped(ctx, Permission.AGENTS_USE)
        return (
            await services(request)
            .recipes()
            .start_run(got.workspace, recipe, data.inputs, actor_id=got.principal.id, request_id=got.request_id)
        )


class RecipeRunsController(Controller):
    path = "/api/recipes/runs"
    tags = ["recipes"]

    @get("/", summary="The workspace's runs, newest first")
    async def list_runs(
        self,
        request: Request[Any, Any, Any],
        recipe: Annotated[str | None, QueryParameter(max_length=100)] = None,
        status: FromQuery[Literal["queued", "running", "waiting", "succeeded", "failed", "cancelled"] | None] = None,
        offset: Offset = 0,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[RunRecord]:
        _, ctx = await request_context(request)
        workspace = scoped(ctx, Permission.AGENTS_READ).workspace
        return (
            await services(request)
            .recipes()
            .list_runs(workspace, recipe=recipe, status=status, offset=offset, limit=limit)
        )

    @get("/{run:str}", summary="One run with its step checkpoints")
    async def get_run(self, request: Request[Any, Any, Any], run: FromPath[str]) -> RunRecord:
        _, ctx = await request_context(request)
        workspace = scoped(ctx, Permission.AGENTS_READ).workspace
        return await services(request).recipes().get_run(workspace, run)

    @post("/{run:str}/{action:str}", summary="cancel, retry, approve or reject a run", status_code=200)
    async def act(
        self, request: Request[Any, Any, Any], run: FromPath[str], action: FromPath[str], data: JSONBody[RunAction]
    ) -> RunRecord:
        if action not in ("cancel", "retry", "approve", "reject"):
            raise ValidationError("action: one of cancel, retry, approve, reject", field="action")
        _, ctx = await request_context(request)
        got = scoped(ctx, Permission.AGENTS_USE)
        container = services(request)
        record = await container.recipes().control(
            got.workspace, run, action, actor_id=got.principal.id, comment=data.comment, request_id=got.request_id
        )
        container.recipe_progress().changed(run)
        return record

    @get("/{run:str}/scratchpad", summary="The run's working notes (kept an hour after their last write)")
    async def scratchpad(self, request: Request[Any, Any, Any], run: FromPath[str]) -> dict[str, Any]:
        _, ctx = await request_context(request)
        workspace = scoped(ctx, Permission.AGENTS_READ).workspace
        return await services(request).recipes().scratchpad(workspace, run)

    @put("/{run:str}/scratchpad/{key:str}", summary="Set one note of the run (null removes it)")
    async def note(
        self, request: Request[Any, Any, Any], run: FromPath[str], key: FromPath[str], data: JSONBody[Note]
    ) -> dict[str, Any]:
        if not NOTE_KEY.fullmatch(key):
            raise ValidationError("key: 1-64 letters, digits, '_' or '-'", field="key")
        _, ctx = await request_context(request)
        workspace = scoped(ctx, Permission.AGENTS_USE).workspace
        return await services(request).recipes().note(workspace, run, key, data.value)

    @get("/{run:str}/events", summary="The run's events as Server-Sent Events, replayed after Last-Event-ID")
    async def events(self, request: Request[Any, Any, Any], run: FromPath[str]) -> Stream:
        _, ctx = await request_context(request)
        workspace = scoped(ctx, Permission.AGENTS_READ).workspace
        container = services(request)
        service, progress = container.recipes(), container.recipe_progress()
        raw = request.headers.get("last-event-id", "0").strip() or "0"
        if not raw.isdigit() or len(raw) > 12:
            raise ValidationError("Last-Event-ID: a sequence number this stream sent", field="Last-Event-ID")
        after = int(raw)
        first = await service.events(workspace, run, after=after)  # 404 before the stream starts

        async def body() -> AsyncIterator[bytes]:
            nonlocal after
            batch = first
            while True:
                for seq, kind, data in batch:
                    after = seq
                    yield f"id: {seq}\nevent: {kind}\ndata: ".encode() + msgspec.json.encode(data) + b"\n\n"
                if batch and batch[-1][1] in {f"run.{s}" for s in FINISHED}:
                    return
                if not batch:
                    status = (await service.get_run(workspace, run)).status
                    if status in FINISHED:
                        return
                    await progress.wait(run, POLL_SECONDS)
                batch = await service.events(workspace, run, after=after)

        return Stream(body(), media_type="text/event-stream", headers=sse_headers())
