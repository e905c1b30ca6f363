"""Extensions: what is installed and what became of it; per-workspace enablement.

A workspace's configuration of an extension is checked against the schema the extension declares
(``extension_config_schema``) when it is written: 422 naming ``config.<field>``. What still goes
wrong in a workspace — a stored configuration that does not fit (the extension is then left out),
or the extension's code failing there — is in ``error`` of the workspace's listing, for callers who
may manage its extensions (admins and owners); members see that the extension is enabled, not why
it fails.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, put
from litestar.params import FromPath, JSONBody, QueryParameter

from automatos.api.dependencies import in_workspace, request_context
from automatos.api.pagination import Limit, Offset, Page, paginate
from automatos.api.value_size import check_value_size
from automatos.kernel.core import Kernel
from automatos.kernel.errors import NotFoundError, ValidationError
from automatos.kernel.hooks import HookView
from automatos.kernel.permissions import Permission, allowed
from automatos.kernel.types import ExtensionInfo, ExtensionState, RequestContext

__all__ = ["ExtensionsController", "WorkspaceExtensionsController"]


class ExtensionToggle(msgspec.Struct, forbid_unknown_fields=True):
    enabled: bool
    config: dict[str, Any] | None = None
    """Replaces the extension's configuration in this workspace when given."""


class WorkspaceExtension(msgspec.Struct):
    name: str
    enabled: bool
    essential: bool
    configured: bool
    """Whether the workspace has configuration for it (values are not shown: they may hold secrets)."""
    distribution: str | None
    version: str | None
    error: str | None = None
    """Why the extension does not work in this workspace (its stored configuration does not fit its
    schema, or its code failed here: ``"<hook>: <error>"``); only shown to callers holding
    ``extensions.manage``."""


_PUBLIC = ("name", "distribution", "version", "builtin", "essential", "state")


def _describe(kernel: Kernel, info: ExtensionInfo, *, detailed: bool) -> dict[str, Any]:
    """Anyone may see what is installed; reasons, scan findings (file paths), the scan's
    ``risk_score`` and ``verdict``, and errors are for platform admins."""
    out: dict[str, Any] = msgspec.to_builtins(info)
    if not detailed:
        return {k: out[k] for k in _PUBLIC}
    out["errors"] = kernel.hooks.errors.for_plugin(info.name)
    return out


def _parse_state(raw: str) -> ExtensionState:
    # Parsed here rather than by Litestar: "state" is a reserved kwarg name there, and the error
    # must name the query parameter the client sent.
    try:
        return ExtensionState(raw)
    except ValueError:
        allowed = ", ".join(s.value for s in ExtensionState)
        raise ValidationError(f"state must be one of {allowed}, not {raw!r}", field="state") from None


class ExtensionsController(Controller):
    path = "/api/extensions"
    tags = ["extensions"]

    @get("/", summary="Installed extensions: loaded, quarantined and denied")
    async def list_extensions(
        self,
        request: Request[Any, Any, Any],
        extension_state: Annotated[
            str | None, QueryParameter(name="state", description="loaded, quarantined or denied")
        ] = None,
        offset: Offset = 0,
        limit: Limit = 100,
    ) -> Page[dict[str, Any]]:
        kernel, ctx = await request_context(request)
        infos = sorted(kernel.registry.extensions.values(), key=lambda i: (not i.builtin, i.name))
        if extension_state is not None:
            wanted = _parse_state(extension_state)
            infos = [i for i in infos if i.state is wanted]
        detailed = _is_admin(ctx)
        return paginate([_describe(kernel, i, detailed=detailed) for i in infos], offset=offset, limit=limit)

    @get("/{name:str}", summary="One extension")
    async def get_extension(self, request: Request[Any, Any, Any], name: FromPath[str]) -> dict[str, Any]:
        kernel, ctx = await request_context(request)
        info = kernel.registry.extensions.get(name)
        if info is None:
            raise NotFoundError(f"no extension named {name!r} is installed", field="name")
        return _describe(kernel, info, detailed=_is_admin(ctx))


def _as_seen(view: HookView, info: ExtensionInfo, *, manager: bool) -> WorkspaceExtension:
    """An extension as one workspace sees it (its view: enabled or hidden, configured or not).

    Enabled with a configuration that does not fit counts as enabled: the admins asked for it, and
    ``error`` (for managers) says why it does nothing.
    """
    error = view.problems.get(info.name) or view.failures.get(info.name)
    return WorkspaceExtension(
        name=info.name,
        enabled=info.name not in view.hidden or info.name in view.problems,
        essential=info.essential,
        configured=bool(view.configs.get(info.name)),
        distribution=info.distribution,
        version=info.version,
        error=error if manager else None,
    )


def _manager(ctx: RequestContext) -> bool:
    """Whether the caller may manage the context workspace's extensions (and so see their errors)."""
    scopes = ctx.principal.scopes if ctx.principal is not None else frozenset()
    return any(allowed(role, Permission.EXTENSIONS_MANAGE, scopes) for role in ctx.roles)


def _is_admin(ctx: RequestContext) -> bool:
    return ctx.principal is not None and ctx.principal.is_platform_admin


class WorkspaceExtensionsController(Controller):
    path = "/api/workspaces/{workspace_id:str}/extensions"
    tags = ["extensions"]

    @get("/", summary="Extensions as this workspace sees them")
    async def list_workspace_extensions(
        self,
        request: Request[Any, Any, Any],
        workspace_id: FromPath[str],
        offset: Offset = 0,
        limit: Limit = 100,
    ) -> Page[WorkspaceExtension]:
        kernel, ctx = await request_context(request)
        scoped = await in_workspace(kernel, ctx, workspace_id, Permission.EXTENSIONS_READ)
        view = await kernel.view_for(scoped.workspace)
        manager = _manager(scoped.ctx)
        items = [
            _as_seen(view, info, manager=manager)
            for _, info in sorted(kernel.registry.extensions.items())
            if info.state is ExtensionState.LOADED
        ]
        return paginate(items, offset=offset, limit=limit)

    @put("/{name:str}", summary="Enable or disable an extension in this workspace")
    async def set_workspace_extension(
        self,
        request: Request[Any, Any, Any],
        workspace_id: FromPath[str],
        name: FromPath[str],
        data: JSONBody[ExtensionToggle],
    ) -> WorkspaceExtension:
        kernel, ctx = await request_context(request)
        scoped = await in_workspace(kernel, ctx, workspace_id, Permission.EXTENSIONS_MANAGE)
        workspace = scoped.workspace
        if data.config is not None:  # stored per workspace and read on every view: bounded like a setting
            check_value_size(kernel, data.config, field="config")
        if data.config is not None and name in kernel.registry.extensions:
            problem = kernel.registry.config_problem(name, data.config, settings=kernel.settings)
            if problem is not None:
                raise ValidationError(f"{name}: {problem}", field=problem.field)
        await kernel.set_extension(
            workspace,
            name,
            enabled=data.enabled,
            config=data.config,
            actor_id=scoped.principal.id,
            request_id=ctx.request_id,
        )
        return _as_seen(await kernel.view_for(workspace), kernel.registry.extensions[name], manager=True)
