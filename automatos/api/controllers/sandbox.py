"""``POST /api/sandbox/run``: run a Python snippet in the sandbox, in the request's workspace.

A thin controller: it parses the body, checks the permission, hands the run to the container's
:class:`~automatos.sandbox.service.SandboxService` — which resolves the limits
(:mod:`automatos.sandbox.limits`), grants the capabilities (:mod:`automatos.sandbox.grants`), runs,
logs and audits — and turns the result into the answer below.

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

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, post
from litestar.params import JSONBody

from automatos.api.dependencies import request_context, scoped, services
from automatos.kernel.errors import ValidationError
from automatos.kernel.permissions import Permission
from automatos.sandbox import SandboxResult
from automatos.sandbox.grants import CapabilityGrants
from automatos.sandbox.limits import RunLimits
from automatos.sandbox.service import SandboxUnavailableError

__all__ = ["SandboxController", "SandboxRun"]

CODE_LIMIT = 200_000


class SandboxRun(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    code: Annotated[
        str,
        msgspec.Meta(min_length=1, max_length=CODE_LIMIT, description="Python source; leave the answer in `result`."),
    ]
    inputs: dict[str, Any] = msgspec.field(default_factory=dict)
    """Seen by the snippet as the global ``inputs``."""
    limits: RunLimits | None = None
    capabilities: CapabilityGrants = msgspec.field(default_factory=CapabilityGrants)


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
        _, ctx = await request_context(request)
        scope = scoped(ctx, Permission.SANDBOX_RUN)
        result = (
            await services(request)
            .sandbox()
            .run(
                data.code,
                data.inputs,
                workspace_id=scope.workspace.id,
                actor_id=scope.principal.id,
                limits=data.limits,
                grants=data.capabilities,
                request_id=ctx.request_id,
            )
        )
        failure = _compile_failure(result)
        if failure is not None:
            raise failure
        error = result.error
        if error is not None and error.kind == "worker" and error.stage == "queue":
            # nothing ran: every worker was busy, or this workspace already holds its share of them
            raise SandboxUnavailableError(error.message, extra={"reason": "busy"})
        return result
