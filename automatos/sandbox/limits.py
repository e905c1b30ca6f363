"""A run's limits: what a caller asks for, bounded by the platform's maximums.

A caller (``POST /api/sandbox/run``, later the marketplace runtime) asks for :class:`RunLimits`,
each field optional; :func:`resolve_limits` checks every asked value against the platform settings
``sandbox.timeout_seconds`` (CPU and wall seconds), ``sandbox.memory_mb`` and
``sandbox.max_output_bytes`` — asking for more is a :class:`ValidationError` naming the field
(``limits.memory_mb``) and the maximum — and fills the rest with defaults that fit within them.
The platform settings are read through :class:`PlatformLimits`, a protocol the composition root
satisfies, so this package imports no feature that stores them.
"""

from __future__ import annotations

from typing import Annotated, Protocol

import msgspec

from automatos.kernel.errors import ValidationError
from automatos.sandbox.settings import SANDBOX_DECLARED
from automatos.sandbox.types import Limits

__all__ = ["MAXIMUMS", "PlatformLimits", "RunLimits", "resolve_limits"]

MAXIMUMS: dict[str, tuple[str, int, int, int]] = {
    d.key: (d.key, int(d.default), int(d.minimum or 0), int(d.maximum or 0))
    for d in SANDBOX_DECLARED
    if d.scope == "platform"
}
"""The platform settings that bound a run, as :data:`~automatos.sandbox.settings.SANDBOX_DECLARED`
declares them: ``key -> (key, default, lowest, highest)``; an out-of-range stored value reads as
the default."""


class PlatformLimits(Protocol):
    """Reads an integer platform setting (``default`` when it is missing or outside ``[low, high]``)."""

    async def int_setting(self, key: str, default: int, low: int, high: int) -> int: ...


class RunLimits(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Each limit is optional (a default applies) and at most the platform's maximum."""

    cpu_seconds: Annotated[float, msgspec.Meta(ge=0.01, le=300)] | None = None
    wall_seconds: Annotated[float, msgspec.Meta(ge=0.01, le=600)] | None = None
    memory_mb: Annotated[int, msgspec.Meta(ge=16, le=8192)] | None = None
    output_bytes: Annotated[int, msgspec.Meta(ge=0, le=16 * 1024 * 1024)] | None = None


def _over(field: str, value: float, maximum: float, setting: str, unit: str) -> ValidationError:
    return ValidationError(
        f"limits.{field}: {value:g} is above this platform's maximum of {maximum:g}{unit} ({setting})",
        field=f"limits.{field}",
        extra={"maximum": maximum},
    )


async def resolve_limits(platform: PlatformLimits, asked: RunLimits | None) -> Limits:
    """The :class:`Limits` of a run that asked for ``asked``; :class:`ValidationError` beyond a maximum."""
    timeout, memory, output = [
        await platform.int_setting(*MAXIMUMS[key])
        for key in ("sandbox.timeout_seconds", "sandbox.memory_mb", "sandbox.max_output_bytes")
    ]
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
