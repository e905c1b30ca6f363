"""The vocabulary of a run: its limits, its result, and what a granted capability is.

Shared by the pool (:mod:`automatos.sandbox.pool`), queue mode (:mod:`automatos.sandbox.queue`),
the capabilities and everything that runs code through the sandbox. Every limit is bounded here,
so no caller can ask for the machine.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Protocol, runtime_checkable

import msgspec

__all__ = ["Capability", "CapabilityRefused", "Limits", "PluginJob", "SandboxError", "SandboxResult", "Usage"]


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


_MODULE = r"^[A-Za-z][A-Za-z0-9_]*(\.(?!__)[A-Za-z_][A-Za-z0-9_]*){0,9}$"
"""A dotted module name of a bundle (10 parts at most, as the manifest's ``entry``; no dunder parts)."""
_HANDLER = r"^[A-Za-z][A-Za-z0-9_]*(\.(?!__)[A-Za-z_][A-Za-z0-9_]*){0,9}:[A-Za-z][A-Za-z0-9_]{0,99}$"
"""``module:function`` — a function defined at the top level of a bundle module."""

ModuleName = Annotated[str, msgspec.Meta(pattern=_MODULE, max_length=200)]
ModuleSource = Annotated[str, msgspec.Meta(max_length=2 * 1024 * 1024)]


class PluginJob(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A run of a marketplace plugin's code in the sandbox (``Sandbox.run(..., plugin=job)``).

    The worker loads the bundle's modules under the sandbox policy (imports between them allowed,
    the stdlib allow-list otherwise) and either imports ``entry`` and calls its ``register(ctx)``
    (``action="register"``: the result is the declarations) or imports the handler's module and
    calls ``fn(ctx, **arguments)`` (``action="call"``: the result is its return value).
    ``docs/sandbox.md`` ("Plugin runs") and ``docs/plugins.md`` describe both.
    """

    bundle: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$")]
    """The version's sha256 (what the platform approved)."""
    modules: Annotated[dict[ModuleName, ModuleSource], msgspec.Meta(min_length=1, max_length=500)]
    """Dotted module name -> source; a package ``pkg/__init__.py`` is module ``pkg``."""
    entry: ModuleName
    action: Literal["register", "call"]
    handler: Annotated[str, msgspec.Meta(pattern=_HANDLER, max_length=300)] | None = None
    """``module:function`` for ``call`` (the ``handler`` of a declared tool); ``None`` for ``register``."""
    arguments: Annotated[dict[str, Any], msgspec.Meta(max_length=256)] = {}
    env: Annotated[
        dict[Annotated[str, msgspec.Meta(max_length=100)], Annotated[str, msgspec.Meta(max_length=16_384)]],
        msgspec.Meta(max_length=50),
    ] = {}
    """The workspace's configured values of the environment names the plugin declared."""
    plugin: Annotated[
        dict[Annotated[str, msgspec.Meta(max_length=32)], Annotated[str, msgspec.Meta(max_length=200)]],
        msgspec.Meta(max_length=8),
    ] = {}
    """``{"slug", "version"}``: what the plugin is told about itself."""

    def __post_init__(self) -> None:
        if self.entry not in self.modules:
            raise ValueError(f"entry: module {self.entry!r} is not in the bundle's modules")
        if self.action == "call":
            if self.handler is None:
                raise ValueError("handler: a call names its handler (module:function)")
            module = self.handler.partition(":")[0]
            if module not in self.modules:
                raise ValueError(f"handler: module {module!r} is not in the bundle's modules")
        elif self.handler is not None:
            raise ValueError("handler: only a call names a handler")
