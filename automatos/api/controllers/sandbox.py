"""``POST /api/sandbox/run``: run a Python snippet in the sandbox, in the request's workspace.

Who may do what (``docs/sandbox.md``, API):

- running at all needs ``sandbox.run`` (members and up; an API key may be narrowed to it);
- ``capabilities.kv`` may be asked by anyone who may run: it is a key-value store in the namespace
  ``sandbox:<workspace id>:run`` of the platform's cache, shared by the workspace's runs and by
  nothing else;
- ``capabilities.http`` reaches only hosts a workspace admin listed in the workspace setting
  ``sandbox_http_allow_hosts`` (``PATCH /api/workspaces/{id}``, ``workspace.update``); a requested host
  that list does not cover is a 403 naming ``capabilities.http.allow_hosts``. The optional setting
  ``sandbox_http_allow_methods`` narrows the methods the same way (absent: any standard method).

Limits: each one is bounded by the request schema and by the platform settings
``sandbox.timeout_seconds`` (CPU and wall seconds), ``sandbox.memory_mb`` and
``sandbox.max_output_bytes``; asking for more is a 422 naming the field (``limits.memory_mb``).

Answers: 200 with the :class:`~automatos.sandbox.SandboxResult` for everything the snippet did —
it raised, it hit a limit, a capability refused it, a policy check met at run time (a computed
attribute name, a forbidden import) stopped it. 422 (``field: code``) when nothing ran because the
code does not compile: a syntax error (with ``line`` and ``column``) or a construct the policy
refuses at compile time (RestrictedPython's check, with ``line``). 503 when the sandbox is disabled
(``FEATURE_SANDBOX=false``) or did not start, and when nothing ran because no worker was free in time:
each workspace holds at most ``SANDBOX_WORKSPACE_MAX_SHARE`` of the workers, its further runs wait in
line for their share (so one flooding workspace never starves the others) and, past the wait, are a
503 ``reason: busy``. The run is logged and audited (``sandbox.run``) with the
code's sha256 and size — never the code or the inputs.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from litestar import Controller, Request, post
from litestar.params import JSONBody

from automatos.agents.runtime import agents_of
from automatos.api.dependencies import Scoped, request_context, scoped
from automatos.kernel.errors import AutomatosError, PermissionDeniedError, ValidationError
from automatos.kernel.permissions import Permission
from automatos.sandbox import Capability, Limits, Sandbox, SandboxResult, sandbox_from_settings
from automatos.sandbox.capabilities import HttpCapability, KVCapability, host_allowed, normalize_host

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel

__all__ = [
    "HOSTS_SETTING",
    "METHODS_SETTING",
    "SandboxController",
    "SandboxRun",
    "SandboxUnavailableError",
    "start_sandbox",
    "stop_sandbox",
]

log = logging.getLogger("automatos.sandbox.api")

HOSTS_SETTING = "sandbox_http_allow_hosts"
"""Workspace setting: the hosts a run in this workspace may be granted ``http`` to."""
METHODS_SETTING = "sandbox_http_allow_methods"
"""Workspace setting (optional): the HTTP methods such a grant may include."""
STATE_KEY = "sandbox"
HTTP_TIMEOUT = 10.0
HTTP_MAX_RESPONSE_BYTES = 1_000_000
CODE_LIMIT = 200_000

Method = Annotated[str, msgspec.Meta(pattern="^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS)$")]
Host = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]


class SandboxUnavailableError(AutomatosError):
    status_code = 503
    title = "Sandbox unavailable"
    type_slug = "sandbox-unavailable"


class RunLimits(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Each limit is optional (a default applies) and at most the platform's maximum."""

    cpu_seconds: Annotated[float, msgspec.Meta(ge=0.01, le=300)] | None = None
    wall_seconds: Annotated[float, msgspec.Meta(ge=0.01, le=600)] | None = None
    memory_mb: Annotated[int, msgspec.Meta(ge=16, le=8192)] | None = None
    output_bytes: Annotated[int, msgspec.Meta(ge=0, le=16 * 1024 * 1024)] | None = None


class HttpGrant(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    allow_hosts: Annotated[list[Host], msgspec.Meta(min_length=1, max_length=50)]
    """Hosts the snippet may call (exact names, or ``*.example.com``); each must be covered by the
    workspace's ``sandbox_http_allow_hosts`` setting."""
    allow_methods: Annotated[list[Method], msgspec.Meta(min_length=1, max_length=7)] = msgspec.field(
        default_factory=lambda: ["GET"]
    )


class CapabilityGrants(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    kv: bool = False
    """A key-value store shared by the workspace's runs (namespace ``sandbox:<workspace id>:run``)."""
    http: HttpGrant | None = None


class SandboxRun(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    code: Annotated[
        str,
        msgspec.Meta(min_length=1, max_length=CODE_LIMIT, description="Python source; leave the answer in `result`."),
    ]
    inputs: dict[str, Any] = msgspec.field(default_factory=dict)
    """Seen by the snippet as the global ``inputs``."""
    limits: RunLimits | None = None
    capabilities: CapabilityGrants = msgspec.field(default_factory=CapabilityGrants)


# --- lifecycle (called from the app's lifespan, see automatos.api.plugin) ---------------------------


async def start_sandbox(kernel: Kernel) -> Sandbox | None:
    """The started sandbox ``SANDBOX_MODE`` asks for, or ``None`` when ``FEATURE_SANDBOX`` is off.

    A sandbox that cannot start does not take the API down: the failure is logged and the route
    answers 503 until a restart.
    """
    settings = kernel.current_settings
    if not settings.feature_sandbox:
        return None
    sandbox: Sandbox | None = None
    try:
        sandbox = sandbox_from_settings(settings)
        await sandbox.start()
    except Exception:
        log.exception("the sandbox could not start; POST /api/sandbox/run answers 503 until a restart")
        if sandbox is not None:
            try:
                await sandbox.stop()
            except Exception:
                log.exception("stopping the sandbox that failed to start failed too")
        return None
    return sandbox


async def stop_sandbox(sandbox: Sandbox | None) -> None:
    if sandbox is None:
        return
    try:
        await sandbox.stop()
    except Exception:
        log.exception("stopping the sandbox failed")


def _sandbox(request: Request[Any, Any, Any], kernel: Kernel) -> Sandbox:
    if not kernel.current_settings.feature_sandbox:
        raise SandboxUnavailableError("the sandbox is disabled on this platform (FEATURE_SANDBOX=false)")
    sandbox: Sandbox | None = request.app.state.get(STATE_KEY)
    if sandbox is None:
        raise SandboxUnavailableError(
            "the sandbox is not running on this node (disabled at start, or it failed to start); "
            "it starts with the server when FEATURE_SANDBOX is true"
        )
    return sandbox


# --- limits and grants ------------------------------------------------------------------------------


def _over(field: str, value: float, maximum: float, setting: str, unit: str) -> ValidationError:
    return ValidationError(
        f"limits.{field}: {value:g} is above this platform's maximum of {maximum:g}{unit} ({setting})",
        field=f"limits.{field}",
        extra={"maximum": maximum},
    )


async def _limits(kernel: Kernel, asked: RunLimits | None) -> Limits:
    runtime = agents_of(kernel)
    timeout = await runtime.int_setting("sandbox.timeout_seconds", 30, 1, 600)
    memory = await runtime.int_setting("sandbox.memory_mb", 256, 16, 8192)
    output = await runtime.int_setting("sandbox.max_output_bytes", 1_048_576, 0, 16 * 1024 * 1024)
    asked = asked or RunLimits()
    checks: list[tuple[str, float | None, float, str, str]] = [
        ("cpu_seconds", asked.cpu_seconds, timeout, "sandbox.timeout_seconds", " s"),
        ("wall_seconds", asked.wall_seconds, timeout, "sandbox.timeout_seconds", " s"),
        ("memory_mb", asked.memory_mb, memory, "sandbox.memory_mb", " MiB"),
        ("output_bytes", asked.output_bytes, output, "sandbox.max_output_bytes", " bytes"),
    ]
    for field, value, maximum, setting, unit in checks:
        if value is not None and value > maximum:
            raise _over(field, value, maximum, setting, unit)
    defaults = Limits()
    cpu = asked.cpu_seconds if asked.cpu_seconds is not None else min(defaults.cpu_seconds, float(timeout))
    wall = asked.wall_seconds
    if wall is None:  # room for the CPU limit and some waiting (capability calls), within the maximum
        wall = min(float(timeout), max(defaults.wall_seconds, cpu + 5.0))
    return Limits(
        cpu_seconds=cpu,
        wall_seconds=wall,
        memory_mb=asked.memory_mb if asked.memory_mb is not None else min(defaults.memory_mb, memory),
        output_bytes=asked.output_bytes if asked.output_bytes is not None else min(defaults.output_bytes, output),
    )


def _setting_list(settings: dict[str, Any], key: str, workspace_id: str) -> list[str] | None:
    value = settings.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        log.warning("workspace %s: setting %s is not a list of strings; ignored", workspace_id, key)
        return []
    return value


async def _workspace_http_policy(kernel: Kernel, workspace_id: str) -> tuple[list[str], set[str] | None]:
    record = await kernel.workspaces.get(workspace_id)
    hosts: list[str] = []
    for entry in _setting_list(record.settings, HOSTS_SETTING, workspace_id) or []:
        try:
            hosts.append(normalize_host(entry))
        except ValueError as exc:
            log.warning("workspace %s: %s entry ignored: %s", workspace_id, HOSTS_SETTING, exc)
    methods = _setting_list(record.settings, METHODS_SETTING, workspace_id)
    return hosts, None if methods is None else {m.upper() for m in methods}


async def _capabilities(kernel: Kernel, scope: Scoped, grants: CapabilityGrants, limits: Limits) -> list[Capability]:
    capabilities: list[Capability] = []
    if grants.kv:
        capabilities.append(KVCapability(kernel.backends.kv, f"sandbox:{scope.workspace.id}:run"))
    if grants.http is not None:
        field = "capabilities.http.allow_hosts"
        workspace_hosts, workspace_methods = await _workspace_http_policy(kernel, scope.workspace.id)
        hosts: list[str] = []
        for asked in grants.http.allow_hosts:
            try:
                host = normalize_host(asked)
            except ValueError as exc:
                raise ValidationError(f"{field}: {exc}", field=field) from None
            if not host_allowed(host, workspace_hosts):
                raise PermissionDeniedError(
                    f"{field}: host {host!r} is not allowed in this workspace (a workspace admin lists the "
                    f"hosts runs may reach in the workspace setting {HOSTS_SETTING})",
                    field=field,
                )
            hosts.append(host)
        methods = sorted(set(grants.http.allow_methods))
        if workspace_methods is not None:
            refused = [m for m in methods if m not in workspace_methods]
            if refused:
                raise PermissionDeniedError(
                    f"capabilities.http.allow_methods: {', '.join(refused)} not allowed in this workspace "
                    f"(workspace setting {METHODS_SETTING})",
                    field="capabilities.http.allow_methods",
                )
        capabilities.append(
            HttpCapability(
                hosts,
                methods,
                timeout=min(HTTP_TIMEOUT, limits.wall_seconds),
                max_response_bytes=HTTP_MAX_RESPONSE_BYTES,
                allow_private=kernel.current_settings.sandbox_http_allow_private,
            )
        )
    return capabilities


def _grants_summary(capabilities: list[Capability]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for cap in capabilities:
        if isinstance(cap, HttpCapability):
            summary["http"] = {"allow_hosts": list(cap.allow_hosts), "allow_methods": list(cap.allow_methods)}
        elif isinstance(cap, KVCapability):
            summary["kv"] = cap.namespace
    return summary


def _compile_failure(result: SandboxResult) -> ValidationError | None:
    """A 422 when nothing ran: the code does not compile, or the compile-time policy check refused it.

    The worker marks both with ``stage: "compile"`` (nothing ran); policy refusals met while running
    (``getattr`` with a computed ``_name``, a forbidden import) are run-time results and stay a 200 —
    whatever their message says, so a snippet cannot dress a run-time error up as "nothing ran".
    """
    error = result.error
    if error is None:
        return None
    if error.stage != "compile":
        return None
    if error.kind == "syntax":
        return ValidationError(
            f"code: {error.message}", field="code", extra={"kind": "syntax", "line": error.line, "column": error.column}
        )
    if error.kind == "policy":
        return ValidationError(
            f"code: {error.message}", field="code", extra={"kind": "policy", "line": error.line, "column": error.column}
        )
    return None


class SandboxController(Controller):
    path = "/api/sandbox"
    tags = ["sandbox"]

    @post(
        "/run",
        status_code=200,
        summary="Run a Python snippet in the sandbox; the result says what it did",
        description=(
            "200 with the run's result for whatever the snippet did (`ok` false with `error` when it raised, "
            "hit a limit or was refused); 422 when the code does not compile (`line`, `column`) or uses a "
            "construct the policy refuses at compile time; 503 when the sandbox is disabled or not running, "
            "or when the run found no free worker in time (every worker busy, or the workspace already "
            "holds its share of them, `SANDBOX_WORKSPACE_MAX_SHARE`): nothing ran, try again later."
        ),
    )
    async def run(self, request: Request[Any, Any, Any], data: JSONBody[SandboxRun]) -> SandboxResult:
        kernel, ctx = await request_context(request)
        scope = scoped(ctx, Permission.SANDBOX_RUN)
        sandbox = _sandbox(request, kernel)
        limits = await _limits(kernel, data.limits)
        capabilities = await _capabilities(kernel, scope, data.capabilities, limits)
        source = data.code.encode("utf-8", "surrogatepass")
        digest = hashlib.sha256(source).hexdigest()
        try:
            result = await sandbox.run(data.code, data.inputs, limits, capabilities, workspace=scope.workspace.id)
        except Exception as exc:
            log.exception("sandbox run %s failed in the sandbox itself", digest)
            raise SandboxUnavailableError(
                f"the sandbox could not run the snippet ({type(exc).__name__}); try again"
            ) from None
        error = result.error
        outcome = {
            "ok": result.ok,
            "error": error.kind if error else None,
            "limit": error.limit if error else None,
            "cpu_ms": result.usage.cpu_ms,
            "total_ms": result.usage.total_ms,
        }
        granted = _grants_summary(capabilities)
        log.info(
            "sandbox run sha256=%s bytes=%d ok=%s error=%s limit=%s cpu_ms=%s capabilities=%s",
            digest,
            len(source),
            result.ok,
            outcome["error"],
            outcome["limit"],
            result.usage.cpu_ms,
            ",".join(sorted(granted)) or "-",
        )
        await kernel.store.audit(
            scope.workspace.id,
            scope.principal.id,
            "sandbox.run",
            "sandbox",
            digest,
            {
                "sha256": digest,
                "code_bytes": len(source),
                "capabilities": granted,
                "limits": msgspec.to_builtins(limits),
                **outcome,
            },
            request_id=ctx.request_id,
        )
        failure = _compile_failure(result)
        if failure is not None:
            raise failure
        if error is not None and error.kind == "worker" and error.stage == "queue":
            # nothing ran: every worker was busy, or this workspace already holds its share of them
            raise SandboxUnavailableError(error.message, extra={"reason": "busy"})
        return result
