"""The tools API's service: list and read a workspace's tools, invoke one with checked arguments.

:class:`ToolService` sits between the controllers (``api/controllers/tools.py``) and the
:class:`~automatos.tools.registry.ToolRegistry`:

- **list**: the workspace's tools, searched (``q``: part of the name or description,
  case-insensitive), filtered by ``source`` (``plugin``, ``builtin``…) and paged.
- **invoke**, in order:

  1. the caller holds ``tools.use`` in the workspace (members and up; an API key may be narrowed
     to it), else 403;
  2. the tool exists in *this* workspace, else 404 (a tool of another workspace does not exist
     here);
  3. the tool's JSON Schema is itself valid (checked once per schema and remembered): a tool whose
     schema is not is not invokable (409 saying why; its provider must fix it) — nor is one whose
     regular expressions could backtrack without bound in this process
     (:mod:`automatos.kernel.patterns`: nested or alternated repeats, backreferences, too many
     unbounded repeats); strings matched against a pattern, and property names, are at most
     4,096 characters (422);
  4. the arguments fit the schema (Draft 2020-12 unless the schema's ``$schema`` names another
     draft; formats checked where jsonschema can without extra packages; no remote ``$ref``), else
     422 whose ``field`` is the argument's path — ``arguments.url``, ``arguments.items[0].name``; a
     missing required property and an additional one the schema forbids are named too;
  5. the provider runs it (a plugin: in a sandbox worker, with the limits its proxy resolves);
  6. one audit entry ``tool.invoke`` in the workspace's log: tool, provider, source, the sha256 of
     the canonical JSON of the arguments (keys sorted, no spaces, UTF-8) — never the arguments —,
     ok, error kind, limit, duration in ms — an entry that cannot be written (the database down)
     is a 503, as for ``sandbox.run``: no result is answered unaudited (the call ran; not retried);
  7. the answer: 200 with ``ok`` and the result, or ``ok: false`` with the error (``kind``,
     ``message``, and ``limit``/``value`` for a sandbox limit) in the shape of
     ``POST /api/sandbox/run``'s error — whatever the tool did; 503 when its source cannot run it
     now (the sandbox is disabled, not running, or has no free worker for this workspace in time).
"""

from __future__ import annotations

import builtins
import hashlib
import logging
import re
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import msgspec
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import SchemaError, best_match
from jsonschema.exceptions import ValidationError as SchemaViolation

from automatos.kernel.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError, echo
from automatos.kernel.http import Page, scoped
from automatos.kernel.patterns import MAX_PATTERN_TEXT, bounded_validator, schema_pattern_problem
from automatos.kernel.permissions import Permission
from automatos.kernel.store import AuditRow
from automatos.kernel.types import IDEMPOTENCY_KEY, ToolCall, ToolResult, ToolSpec
from automatos.sandbox.service import SandboxUnavailableError
from automatos.sandbox.types import SandboxError
from automatos.tools.permissions import INTENTS, app_of

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

    from automatos.kernel.core import Kernel
    from automatos.kernel.types import RequestContext, Workspace
    from automatos.tools.registry import AppSummary, ToolRegistry

__all__ = ["ToolInvocation", "ToolService", "arguments_digest"]

log = logging.getLogger("automatos.tools")

ALL_INTENTS = frozenset(INTENTS)

_MAX_SCHEMAS = 4096
"""Checked schemas remembered at the most; past it the memory starts again."""
_MESSAGE_CHARS = 300
"""A schema violation's message is cut here (it may quote a long argument back)."""


class ToolInvocation(msgspec.Struct, kw_only=True):
    """What ``POST /api/tools/{name}/invoke`` answers: the call's outcome, as the sandbox reports runs."""

    tool: str
    """The tool's name."""
    ok: bool
    """Whether the tool returned a result; false when it raised, hit a limit or was refused."""
    result: Any = None
    """The tool's JSON result (``None`` when not ``ok``)."""
    error: SandboxError | None = None
    """Why it failed: ``kind`` (``runtime``, ``limit`` with ``limit`` and ``value``, ``capability``,
    ``result``, ``timeout``, ``provider``…) and ``message`` — the shape of ``/api/sandbox/run``."""
    logs: list[dict[str, str]] = []
    """What the tool logged (``ctx.log``)."""
    usage: dict[str, float] = {}
    """The sandbox's measures of the call (``cpu_ms``, ``wall_ms``, ``total_ms``) when it ran there."""
    duration_ms: float = 0.0
    """The call's round trip as the API saw it."""


def arguments_digest(arguments: Mapping[str, Any]) -> str:
    """sha256 of the arguments' canonical JSON (keys sorted, compact, UTF-8): what the audit keeps."""
    return hashlib.sha256(msgspec.json.encode(arguments, order="sorted")).hexdigest()


def _path(error: SchemaViolation) -> str:
    """``arguments.a.b[0]`` for the failing value; the offending property for required/additional."""
    path = "arguments"
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    instance = error.instance
    if error.validator == "required" and isinstance(instance, dict) and isinstance(error.validator_value, list):
        missing = [p for p in error.validator_value if isinstance(p, str) and p not in instance]
        if missing:
            path += f".{missing[0]}"
    elif error.validator in ("additionalProperties", "unevaluatedProperties") and isinstance(instance, dict):
        schema: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
        known = schema.get("properties")
        known = known if isinstance(known, dict) else {}
        patterns = schema.get("patternProperties")
        patterns = list(patterns) if isinstance(patterns, dict) else []
        extra = sorted(k for k in instance if k not in known and not any(_matches(p, k) for p in patterns))
        if extra:
            path += f".{extra[0]}"
    return path


def _long_key(arguments: Mapping[str, Any]) -> str | None:
    """The path of the first property name longer than :data:`MAX_PATTERN_TEXT` (schemas' patterns
    match property names: bounded like the strings they match)."""
    stack: list[tuple[str, Any]] = [("arguments", arguments)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, Mapping):
            for key, item in value.items():
                if isinstance(key, str) and len(key) > MAX_PATTERN_TEXT:
                    return f"{path}.{key[:40]}…"
                stack.append((f"{path}.{key}", item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(value))
    return None


def _matches(pattern: str, key: str) -> bool:
    try:
        return re.search(pattern, key) is not None
    except re.error:
        return False


class ToolService:
    """The tools API over the registry: listing, reading and invoking, with the checks and the audit."""

    def __init__(self, kernel: Kernel, registry: ToolRegistry) -> None:
        self.kernel = kernel
        self.registry = registry
        self._schemas: dict[bytes, tuple[Validator | None, str]] = {}

    # --- reads -------------------------------------------------------------------------------------

    async def list(
        self,
        workspace: Workspace,
        *,
        q: str | None = None,
        source: str | None = None,
        app: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> Page[ToolSpec]:
        """The workspace's tools that are on, searched by ``q``, filtered by ``source`` and ``app``."""
        tools = await self.registry.tools(workspace)
        if source is not None:
            tools = [t for t in tools if t.source == source]
        if app is not None:
            tools = [t for t in tools if app_of(t) == app]
        if q:
            needle = q.casefold()
            tools = [t for t in tools if needle in t.name.casefold() or needle in t.description.casefold()]
        return Page(items=tools[offset : offset + limit], total=len(tools), offset=offset, limit=limit)

    async def get(self, workspace: Workspace, name: str) -> ToolSpec:
        return (await self.registry.find(workspace, name))[1]

    async def apps(
        self, workspace: Workspace, *, source: str | None = None, offset: int = 0, limit: int = 100
    ) -> Page[AppSummary]:
        """The workspace's apps (every source), with how many tools each has on and off."""
        apps = await self.registry.apps(workspace)
        if source is not None:
            apps = [a for a in apps if a.source == source]
        return Page(items=apps[offset : offset + limit], total=len(apps), offset=offset, limit=limit)

    async def agent_tools(
        self,
        workspace: Workspace,
        agent_id: str,
        *,
        offset: int = 0,
        limit: int = 100,
    ) -> Page[ToolSpec]:
        """What the agent may call (the caller has checked the agent is this workspace's)."""
        tools = await self.registry.agent_tools(workspace, agent_id)
        return Page(items=tools[offset : offset + limit], total=len(tools), offset=offset, limit=limit)

    # --- invoke ------------------------------------------------------------------------------------

    def validator(self, spec: ToolSpec) -> Validator:
        """The tool's checked schema; :class:`ConflictError` (409) when the schema itself is invalid."""
        key = msgspec.json.encode(spec.parameters, order="sorted")
        hit = self._schemas.get(key)
        if hit is None:
            hit = self._check_schema(spec.parameters)
            if len(self._schemas) >= _MAX_SCHEMAS:
                self._schemas.clear()
            self._schemas[key] = hit
        checked, problem = hit
        if checked is None:
            raise ConflictError(
                f"tool {echo(spec.name)} cannot be invoked: its arguments' JSON Schema is invalid ({problem});"
                f" its provider {echo(spec.provider)} must fix it",
                field="name",
            )
        return checked

    @staticmethod
    def _check_schema(schema: dict[str, Any]) -> tuple[Validator | None, str]:
        try:
            cls = validators.validator_for(schema, default=Draft202012Validator)
            cls.check_schema(schema)
            problem = schema_pattern_problem(schema)  # run in this process: no unbounded backtracking
            if problem is not None:
                return None, problem
            return bounded_validator(cls)(schema, format_checker=cls.FORMAT_CHECKER), ""
        except SchemaError as exc:
            return None, f"{exc.message[:_MESSAGE_CHARS]} at {'/'.join(map(str, exc.absolute_path)) or 'the root'}"
        except Exception as exc:  # an unknown $schema, a schema too deep to check
            return None, type(exc).__name__

    def check_arguments(self, spec: ToolSpec, arguments: Mapping[str, Any]) -> None:
        """422 naming the argument's path when ``arguments`` do not fit the tool's schema."""
        checked = self.validator(spec)
        long_key = _long_key(arguments)
        if long_key is not None:
            raise ValidationError(
                f"{long_key}: a property name longer than {MAX_PATTERN_TEXT} characters",
                field=long_key,
                extra={"tool": spec.name, "rule": "maxLength"},
            )
        try:
            error = best_match(checked.iter_errors(dict(arguments)))
        except Exception as exc:  # an unresolvable $ref, a recursion the schema allows: the tool's fault
            raise ConflictError(
                f"tool {echo(spec.name)} cannot be invoked: its arguments' JSON Schema cannot be applied"
                f" ({type(exc).__name__})",
                field="name",
            ) from None
        if error is None:
            return
        field = _path(error)
        message = error.message if len(error.message) <= _MESSAGE_CHARS else error.message[:_MESSAGE_CHARS] + "…"
        raise ValidationError(f"{field}: {message}", field=field, extra={"tool": spec.name, "rule": error.validator})

    async def invoke(self, ctx: RequestContext, name: str, arguments: Mapping[str, Any]) -> ToolInvocation:
        """Invoke the workspace's tool ``name``; see the module docstring for every step and answer."""
        scope = scoped(ctx, Permission.TOOLS_USE)
        workspace = scope.workspace
        provider, spec = await self.registry.find(workspace, name)
        if not (await self.registry.policy(workspace)).enabled(spec):
            raise PermissionDeniedError(
                f"tool {echo(name)} is switched off in this workspace (PUT /api/tools/config/…)", field="name"
            )
        self.check_arguments(spec, arguments)
        started = time.perf_counter()
        result = await self.registry.call(workspace, provider, spec, arguments)
        duration_ms = round((time.perf_counter() - started) * 1000, 3)
        error = _error_of(result)
        log.info(
            "tool invoke %s provider=%s ok=%s error=%s limit=%s ms=%.1f",
            spec.name,
            spec.provider,
            result.ok,
            error.kind if error else None,
            error.limit if error else None,
            duration_ms,
        )
        await self._audit_call(workspace.id, scope.principal.id, spec, arguments, result, duration_ms, ctx.request_id)
        if error is not None and error.kind == "unavailable":
            raise SandboxUnavailableError(f"tool {spec.name}: {error.message}")
        if error is not None and error.kind == "worker" and error.stage == "queue":
            raise SandboxUnavailableError(f"tool {spec.name}: {error.message}", extra={"reason": "busy"})
        return ToolInvocation(
            tool=spec.name,
            ok=result.ok,
            result=result.result if result.ok else None,
            error=error,
            logs=list(result.logs),
            usage=dict(result.usage),
            duration_ms=duration_ms,
        )

    async def _audit_call(
        self,
        workspace_id: str,
        actor_id: str | None,
        spec: ToolSpec,
        arguments: Mapping[str, Any],
        result: ToolResult,
        duration_ms: float,
        request_id: str | None,
        *,
        agent_id: str | None = None,
        into: builtins.list[AuditRow] | None = None,
    ) -> None:
        """One ``tool.invoke`` audit entry: the arguments' sha256, never the arguments. Written now,
        or appended to ``into`` for the caller to write in its own transaction."""
        error = _error_of(result)
        data: dict[str, Any] = {
            "tool": spec.name,
            "provider": spec.provider,
            "source": spec.source,
            "sha256": arguments_digest(arguments),
            "ok": result.ok,
            "error": error.kind if error else None,
            "limit": error.limit if error else None,
            "duration_ms": duration_ms,
        }
        if agent_id is not None:
            data["agent_id"] = agent_id
        row = AuditRow(workspace_id, actor_id, "tool.invoke", "tool", spec.name, data, request_id)
        if into is not None:
            into.append(row)
            return
        await self.kernel.store.audit(*row[:-1], request_id=request_id)

    async def _switched_off(self, workspace: Workspace, name: str) -> bool:
        """Whether the workspace has a tool ``name`` that it switched off (to word a refusal)."""
        try:
            _, spec = await self.registry.find(workspace, name)
        except NotFoundError:
            return False
        return not (await self.registry.policy(workspace)).enabled(spec)

    # --- a recipe's tool step ---------------------------------------------------------------------

    async def run_for_recipe(
        self,
        workspace: Workspace,
        name: str,
        arguments: Mapping[str, Any],
        *,
        actor_id: str | None,
        idempotency_key: str,
        request_id: str | None = None,
        audit_into: builtins.list[AuditRow] | None = None,
    ) -> ToolResult:
        """Run a recipe step's tool (:mod:`automatos.recipes.engine`); never raises for a refusal:
        an unknown or switched-off tool is ``refused``, arguments that do not fit the schema are
        ``arguments`` with ``field`` — the step fails with that reason. The call is audited as
        ``tool.invoke`` (now, or into ``audit_into`` for the engine to write with the step's
        checkpoint), and ``IDEMPOTENCY_KEY`` holds the key while it runs (a provider that can
        deduplicate reads it)."""
        try:
            provider, spec = await self.registry.find(workspace, name)
        except NotFoundError:
            return ToolResult(ok=False, error={"kind": "refused", "message": f"tool {echo(name)} does not exist here"})
        if not (await self.registry.policy(workspace)).enabled(spec):
            message = f"tool {echo(name)} is switched off in this workspace"
            return ToolResult(ok=False, error={"kind": "refused", "message": message})
        try:
            self.check_arguments(spec, arguments)
        except ValidationError as exc:
            return ToolResult(ok=False, error={"kind": "arguments", "message": exc.detail, "field": exc.field})
        except ConflictError as exc:
            return ToolResult(ok=False, error={"kind": "unavailable", "message": exc.detail})
        token = IDEMPOTENCY_KEY.set(idempotency_key)
        try:
            started = time.perf_counter()
            result = await self.registry.call(workspace, provider, spec, arguments)
            duration_ms = round((time.perf_counter() - started) * 1000, 3)
        finally:
            IDEMPOTENCY_KEY.reset(token)
        await self._audit_call(
            workspace.id, actor_id, spec, arguments, result, duration_ms, request_id, into=audit_into
        )
        return result

    # --- an agent's call, from the tool loop --------------------------------------------------------

    async def run_for_agent(
        self,
        workspace: Workspace,
        agent_id: str,
        call: ToolCall,
        *,
        actor_id: str | None,
        request_id: str | None = None,
    ) -> ToolResult:
        """Run a tool call an agent's model made (:mod:`automatos.chat.tool_loop`); never raises for
        what the model got wrong — every refusal is a :class:`ToolResult` error the model reads:

        1. **permission, again at execution**: the tool must be one the agent may call *now*
           (:mod:`automatos.tools.permissions`: its plugins and apps, the workspace's switches, its
           intents — the view's :class:`ToolPolicy` as it is now, no database read), else
           ``refused`` with the reason, audited as ``tool.refused``;
        2. the arguments must be a JSON object (``arguments``: not JSON, or not an object);
        3. they must fit the tool's schema (``arguments``, with ``field`` the argument's path, e.g.
           ``arguments.options.depth``, as ``POST /api/tools/{name}/invoke``'s 422 names it); a
           tool whose schema is invalid is ``unavailable``;
        4. the tool runs (:meth:`ToolRegistry.call`: contained, bounded) and the call is audited as
           ``tool.invoke`` (with ``agent_id``), as the API's invoke is — an audit that cannot be
           written raises, as there: no result is used unaudited.
        """
        allowed_intents = (await self.registry.policy(workspace)).intents_of(agent_id)
        every = {spec.name: spec for spec in await self.registry.agent_tools(workspace, agent_id, ALL_INTENTS)}
        spec = every.get(call.name)
        reason = None
        if spec is None:
            reason = "not one of the agent's tools"
            message = f"tool {echo(call.name)} is not available to this agent"
            if await self._switched_off(workspace, call.name):
                reason = "switched off in this workspace"
                message = f"tool {echo(call.name)} is switched off in this workspace"
        elif spec.intent not in allowed_intents:
            reason = f"intent {spec.intent} not allowed"
            message = f"tool {echo(call.name)} is {spec.intent}: this agent may not call {spec.intent} tools"
        if reason is not None:
            await self.kernel.store.audit(
                workspace.id,
                actor_id,
                "tool.refused",
                "tool",
                call.name[:200],
                {"tool": call.name[:200], "agent_id": agent_id, "reason": reason},
                request_id=request_id,
            )
            return ToolResult(ok=False, error={"kind": "refused", "message": message})
        assert spec is not None
        try:
            arguments = msgspec.json.decode(call.arguments or "{}")
        except msgspec.DecodeError as exc:
            return ToolResult(ok=False, error={"kind": "arguments", "message": f"the arguments are not JSON: {exc}"})
        if not isinstance(arguments, dict):
            return ToolResult(ok=False, error={"kind": "arguments", "message": "the arguments must be a JSON object"})
        try:
            self.check_arguments(spec, arguments)
        except ValidationError as exc:
            return ToolResult(ok=False, error={"kind": "arguments", "message": exc.detail, "field": exc.field})
        except ConflictError as exc:
            return ToolResult(ok=False, error={"kind": "unavailable", "message": exc.detail})
        try:
            provider, spec = await self.registry.find(workspace, call.name)
        except NotFoundError:  # gone between the two reads
            return ToolResult(ok=False, error={"kind": "refused", "message": f"tool {echo(call.name)} is gone"})
        started = time.perf_counter()
        result = await self.registry.call(workspace, provider, spec, arguments)
        duration_ms = round((time.perf_counter() - started) * 1000, 3)
        await self._audit_call(
            workspace.id, actor_id, spec, arguments, result, duration_ms, request_id, agent_id=agent_id
        )
        return result


def _error_of(result: ToolResult) -> SandboxError | None:
    """The result's error in the sandbox's shape (unknown keys dropped); a failure without one says so."""
    raw = result.error
    if raw is None:
        return None if result.ok else SandboxError(kind="error", message="the tool failed without saying why")
    try:
        return msgspec.convert(
            {"kind": "error", "message": "", **{k: v for k, v in raw.items() if isinstance(k, str)}},
            SandboxError,
            strict=False,
        )
    except msgspec.ValidationError:
        return SandboxError(kind=str(raw.get("kind") or "error"), message=str(raw.get("message") or ""))
