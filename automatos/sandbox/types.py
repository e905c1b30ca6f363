"""The vocabulary of a run: its limits, its result, and what a granted capability is.

Shared by the pool (:mod:`automatos.sandbox.pool`), queue mode (:mod:`automatos.sandbox.queue`),
the capabilities and everything that runs code through the sandbox. Every limit is bounded here,
so no caller can ask for the machine.
"""

from __future__ import annotations

from typing import Annotated, Any, Protocol, runtime_checkable

import msgspec

__all__ = ["Capability", "CapabilityRefused", "Limits", "SandboxError", "SandboxResult", "Usage"]


class Limits(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Per-run limits; every field is bounded so that a request cannot ask for the machine."""

    cpu_seconds: Annotated[float, msgspec.Meta(gt=0, le=300)] = 5.0
    wall_seconds: Annotated[float, msgspec.Meta(gt=0, le=600)] = 10.0
    memory_mb: Annotated[int, msgspec.Meta(ge=16, le=8192)] = 256
    output_bytes: Annotated[int, msgspec.Meta(ge=0, le=16 * 1024 * 1024)] = 65_536
    result_bytes: Annotated[int, msgspec.Meta(ge=0, le=16 * 1024 * 1024)] = 1_048_576


class SandboxError(msgspec.Struct, kw_only=True):
    """Why a run did not succeed.

    ``kind``: ``syntax`` (with ``line``/``column``), ``policy`` (the construct refused), ``runtime``
    (the snippet raised; ``message`` is ``Type: text``), ``limit`` (``limit`` and ``value`` name it),
    ``capability`` (a capability refused or failed a call), ``result`` (the result is not JSON) or
    ``worker`` (the worker process failed for a reason not the snippet's, e.g. it could not start).
    """

    kind: str
    message: str
    line: int | None = None
    column: int | None = None
    limit: str | None = None
    value: float | None = None
    stage: str | None = None
    """``compile`` when the code was refused before anything ran (syntax, compile-time policy)."""


class Usage(msgspec.Struct, kw_only=True):
    cpu_ms: float = 0.0
    wall_ms: float = 0.0
    """Inside the worker, compile and run."""
    total_ms: float = 0.0
    """Round trip seen by the caller, waiting for a free worker included."""


class SandboxResult(msgspec.Struct, kw_only=True):
    ok: bool
    result: Any = None
    """The JSON value the snippet left in its global ``result`` (``None`` if unset or on failure)."""
    stdout: str = ""
    error: SandboxError | None = None
    logs: list[dict[str, str]] = []
    usage: Usage = msgspec.field(default_factory=Usage)


class CapabilityRefused(Exception):
    """Raised by a capability to refuse a call; its message reaches the snippet (say what, never a secret).

    Any other exception a capability raises reaches the snippet only as its type name (a backend's
    error text may carry addresses or credentials)."""


@runtime_checkable
class Capability(Protocol):
    """An object a run is granted: the snippet sees a proxy named ``name`` with ``methods``.

    ``call`` runs here, in the supervisor, with JSON arguments; its JSON return value goes back to
    the snippet. A :class:`CapabilityRefused` (or ``TypeError``/``ValueError`` about the arguments)
    becomes a ``CapabilityError`` there carrying its message (so say what was refused, never a
    secret); any other exception carries only its type name.
    """

    name: str
    methods: frozenset[str]

    async def call(self, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any: ...
