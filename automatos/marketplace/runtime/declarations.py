"""``register(ctx)`` of a version, run once in the sandbox and cached on its row.

A plugin declares what it gives in ``register(ctx)``: tools (name, description, the JSON Schema of
their arguments, the handler ``module:qualname``), skills and prompts (paths of the bundle) and
routing rules. That code runs only in a sandbox worker (a ``register`` plugin job,
:meth:`SandboxService.run_plugin <automatos.sandbox.service.SandboxService.run_plugin>`), with no
capability but ``log`` and no workspace configuration: the declarations are the version's, shared
by every workspace that enables it, so they may not depend on one workspace's values.

:func:`check_declarations` holds the result to the shape the proxies rely on (a bad one is a
failed ``register``); :class:`Declarations` runs it when a version has none cached and stores the
outcome on ``plugin_versions`` (``declarations``, or ``declarations_error`` with the reason, run
again on the next enable, upgrade or restore). A sandbox that cannot run it — none running, no
worker free or (queue mode) none taking it in time, a worker that died under it (``worker``: not the
plugin's doing) — raises :class:`~automatos.sandbox.service.SandboxUnavailableError` (503) and
nothing is stored.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from sqlalchemy import null, or_, update

from automatos.marketplace.models import PluginVersion
from automatos.marketplace.runtime.bundles import BundleCache

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel
    from automatos.marketplace.archive import ArchiveLimits
    from automatos.sandbox.types import Capability, SandboxResult

__all__ = [
    "MAX_TOOLS",
    "TOOL_NAME",
    "Declarations",
    "PluginRunner",
    "VersionRef",
    "check_declarations",
    "plugin_job",
    "sandbox_failure",
]

log = logging.getLogger("automatos.marketplace.runtime")

TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
HANDLER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.(?!__)[A-Za-z_][A-Za-z0-9_]*){0,9}:[A-Za-z][A-Za-z0-9_]{0,99}$")
"""``module:function`` (a top-level function of a bundle module), as the sandbox's ``PluginJob`` takes it."""
MAX_TOOLS = 100
MAX_PATHS = 200
MAX_RULES = 100


class PluginRunner(Protocol):
    """What runs a plugin job: the process's :class:`~automatos.sandbox.service.SandboxService`."""

    async def run_plugin(
        self, job: Any, *, workspace_id: str, limits: Any, capabilities: Sequence[Capability]
    ) -> SandboxResult: ...


@dataclass(frozen=True, slots=True)
class VersionRef:
    """What the runtime needs of one version row (read once, used outside the session)."""

    id: str
    slug: str
    version: str
    sha256: str
    blob_key: str
    manifest: Mapping[str, Any]
    declarations: Mapping[str, Any] | None
    granted_permissions: Mapping[str, Any]

    @classmethod
    def of(cls, row: PluginVersion, slug: str) -> VersionRef:
        return cls(
            id=row.id,
            slug=slug,
            version=row.version,
            sha256=row.sha256,
            blob_key=row.blob_key,
            manifest=dict(row.manifest or {}),
            declarations=row.declarations,
            granted_permissions=dict(row.granted_permissions or {}),
        )

    @property
    def entry(self) -> str:
        return str(self.manifest.get("entry", ""))


def plugin_job(
    ref: VersionRef,
    modules: Mapping[str, str],
    *,
    action: Literal["register", "call"],
    handler: str | None = None,
    arguments: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Any:
    """The sandbox's :class:`~automatos.sandbox.types.PluginJob` for ``ref`` (imported when first needed)."""
    from automatos.sandbox.types import PluginJob

    return PluginJob(
        bundle=ref.sha256,
        modules=dict(modules),
        entry=ref.entry,
        action=action,
        handler=handler,
        arguments=dict(arguments or {}),
        env=dict(env or {}),
        plugin={"slug": ref.slug, "version": ref.version},
    )


def sandbox_failure(result: SandboxResult) -> str:
    """``kind: message`` of a failed run (``limit: …`` carries the limit and its value)."""
    error = result.error
    if error is None:
        return "failed without an error"
    text = f"{error.kind}: {error.message}"
    if error.limit:
        text += f" (limit {error.limit}={error.value:g})" if error.value is not None else f" (limit {error.limit})"
    return text[:2000]


def _paths(raw: Any, key: str, files: Mapping[str, bytes] | None) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_PATHS:
        raise ValueError(f"{key}: expected a list of at most {MAX_PATHS} paths")
    out: list[str] = []
    for i, path in enumerate(raw):
        if not isinstance(path, str) or (files is not None and path not in files):
            raise ValueError(f"{key}[{i}]: {str(path)[:200]!r} is not a file of the bundle")
        if path not in out:
            out.append(path)
    return out


def check_declarations(
    raw: Any, slug: str, modules: Mapping[str, str], files: Mapping[str, bytes] | None = None
) -> dict[str, Any]:
    """The declarations in their stored shape; ``ValueError`` naming the item that does not fit."""
    if not isinstance(raw, dict):
        raise ValueError("register(ctx) must leave the declarations object (tools, skills, prompts, routing_rules)")
    tools_raw = raw.get("tools") or []
    if not isinstance(tools_raw, list) or len(tools_raw) > MAX_TOOLS:
        raise ValueError(f"tools: expected a list of at most {MAX_TOOLS} tools")
    tools: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, tool in enumerate(tools_raw):
        where = f"tools[{i}]"
        if not isinstance(tool, dict):
            raise ValueError(f"{where}: expected an object")
        name = tool.get("name")
        if not isinstance(name, str) or not TOOL_NAME.match(f"{slug}__{name}"):
            raise ValueError(
                f"{where}.name: {str(name)[:100]!r} must be letters, digits, _ or -, and {slug}__<name> at most 64"
            )
        if name in seen:
            raise ValueError(f"{where}.name: {name!r} is declared twice")
        seen.add(name)
        description = tool.get("description") or ""
        if not isinstance(description, str):
            raise ValueError(f"{where}.description: expected text")
        parameters = tool.get("parameters") or {"type": "object", "properties": {}}
        if not isinstance(parameters, dict) or parameters.get("type", "object") != "object":
            raise ValueError(f"{where}.parameters: expected a JSON Schema of type object")
        handler = tool.get("handler")
        module, _, qualname = handler.partition(":") if isinstance(handler, str) else ("", "", "")
        if not isinstance(handler, str) or not HANDLER.match(handler) or module not in modules or not qualname:
            raise ValueError(f"{where}.handler: {str(handler)[:200]!r} is not module:function of the bundle")
        tools.append({"name": name, "description": description[:4000], "parameters": parameters, "handler": handler})
    rules = raw.get("routing_rules") or []
    if not isinstance(rules, list) or len(rules) > MAX_RULES or not all(isinstance(r, dict) for r in rules):
        raise ValueError(f"routing_rules: expected a list of at most {MAX_RULES} objects")
    return {
        "tools": tools,
        "skills": _paths(raw.get("skills"), "skills", files),
        "prompts": _paths(raw.get("prompts"), "prompts", files),
        "routing_rules": rules,
    }


class Declarations:
    """Runs ``register`` for versions that have no declarations cached, and caches the outcome."""

    def __init__(
        self,
        kernel: Kernel,
        runner: Callable[[], PluginRunner],
        bundles: BundleCache,
        limits: Callable[[], ArchiveLimits],
    ) -> None:
        self.kernel = kernel
        self.runner = runner
        self.bundles = bundles
        self.limits = limits

    async def ensure(self, ref: VersionRef, *, workspace_id: str) -> tuple[dict[str, Any] | None, str | None]:
        """``(declarations, None)``, or ``(None, reason)`` when ``register`` failed (stored either way)."""
        if ref.declarations is not None:
            return dict(ref.declarations), None
        from automatos.marketplace.runtime.bundles import modules_of, read_bundle

        runner = self.runner()
        files = await read_bundle(self.kernel.backends.blob, ref.blob_key, ref.sha256, self.limits())
        modules = modules_of(files)
        self.bundles.put(ref.sha256, modules)
        job = plugin_job(ref, modules, action="register")
        result = await runner.run_plugin(job, workspace_id=workspace_id, limits=None, capabilities=[])
        if result.error is not None and result.error.kind == "worker":  # the sandbox's failure: nothing stored
            from automatos.sandbox.service import SandboxUnavailableError

            raise SandboxUnavailableError(
                f"plugin {ref.slug}@{ref.version}: register could not run in the sandbox: {result.error.message}"
            )
        declarations: dict[str, Any] | None = None
        error: str | None = None
        if not result.ok:
            error = f"register failed: {sandbox_failure(result)}"
        else:
            try:
                declarations = check_declarations(result.result, ref.slug, modules, files)
            except ValueError as exc:
                error = f"register failed: declarations: {exc}"[:2000]
        stored = update(PluginVersion).where(PluginVersion.id == ref.id)
        if error is not None:
            # a failed run never overwrites declarations a concurrent run of the same version stored
            # (a limit hit under load must not take the plugin out of the views that run it)
            stored = stored.where(
                or_(PluginVersion.declarations.is_(None), PluginVersion.declarations_error.is_not(None))
            )
        async with self.kernel.store.sessionmaker.begin() as session:
            await session.execute(
                stored.values(declarations=null() if declarations is None else declarations, declarations_error=error)
            )
        if error is not None:
            log.warning("plugin %s@%s: %s", ref.slug, ref.version, error)
        else:
            log.info(
                "plugin %s@%s: register declared %d tools",
                ref.slug,
                ref.version,
                len((declarations or {}).get("tools", [])),
            )
        return declarations, error
