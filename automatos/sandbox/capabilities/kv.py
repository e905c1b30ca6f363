""":class:`KVCapability` (``kv``: ``get``, ``set``, ``delete``): JSON values under keys of
``[A-Za-z0-9_.\\-/]{1,200}`` in ``kv.with_namespace(namespace)``, so the snippet reaches no key
outside its namespace; every value expires (``ttl`` at most ``max_ttl``, which is also the default).
Writes are metered: at most ``max_run_bytes`` per run and ``max_window_bytes`` per namespace per
``max_ttl`` window (a counter in the same backend), so what a namespace can hold at any time is
bounded too — values written in a window expire by the end of the next.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import msgspec

from automatos.sandbox.capabilities.base import Budget, CapabilityRefused, dispatch

if TYPE_CHECKING:
    from automatos.kernel.backends import KVBackend

__all__ = ["KVCapability"]

_KEY = re.compile(r"[A-Za-z0-9_.\-/]{1,200}")


class KVCapability:
    """JSON values in one namespace of a key-value backend; see the module docstring."""

    name = "kv"
    methods = frozenset({"get", "set", "delete"})

    def __init__(
        self,
        kv: KVBackend,
        namespace: str,
        max_value_bytes: int = 65536,
        max_ttl: int = 86400,
        *,
        max_calls: int = 1000,
        max_run_bytes: int = 1_048_576,
        max_window_bytes: int = 16 * 1_048_576,
    ) -> None:
        if not isinstance(namespace, str) or not namespace:
            raise ValueError("a kv capability needs a non-empty namespace")
        if max_ttl <= 0 or max_value_bytes <= 0:
            raise ValueError("max_ttl and max_value_bytes must be positive")
        self.namespace = namespace
        self.max_value_bytes = int(max_value_bytes)
        self.max_ttl = int(max_ttl)
        self.max_calls = int(max_calls)
        self.max_run_bytes = int(max_run_bytes)
        self.max_window_bytes = int(max_window_bytes)
        self._kv = kv.with_namespace(namespace)
        self._meter = kv.with_namespace("sandbox-quota")
        self._budget = Budget("kv", self.max_calls)
        self._written = 0

    def spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "namespace": self.namespace,
            "max_value_bytes": self.max_value_bytes,
            "max_ttl": self.max_ttl,
            "max_calls": self.max_calls,
            "max_run_bytes": self.max_run_bytes,
            "max_window_bytes": self.max_window_bytes,
        }

    async def call(self, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        self._budget.spend()
        return await dispatch(
            self.name, {"get": self.get, "set": self.set, "delete": self.delete}, method, args, kwargs
        )

    @staticmethod
    def _check_key(key: Any) -> str:
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            shown = repr(key)[:60]
            raise CapabilityRefused(f"key {shown} is not 1-200 characters of letters, digits, '_', '.', '-', '/'")
        return key

    async def get(self, key: str, default: Any = None) -> Any:
        raw = await self._kv.get(self._check_key(key))
        if raw is None:
            return default
        try:
            return msgspec.json.decode(raw)
        except msgspec.DecodeError:
            raise CapabilityRefused(f"the value under {key!r} is not JSON") from None

    async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        key = self._check_key(key)
        if ttl is None:
            ttl = self.max_ttl
        if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not 0 < ttl <= self.max_ttl:
            raise CapabilityRefused(f"ttl must be a number of seconds above 0 and at most {self.max_ttl}")
        encoded = msgspec.json.encode(value)
        if len(encoded) > self.max_value_bytes:
            raise CapabilityRefused(f"the value is {len(encoded)} bytes as JSON; at most {self.max_value_bytes}")
        size = len(encoded) + len(key)
        if self._written + size > self.max_run_bytes:
            raise CapabilityRefused(f"this run may write at most {self.max_run_bytes} bytes to kv")
        window = await self._meter.incr(self.namespace.replace(":", "/"), size, ttl=float(self.max_ttl))
        if window > self.max_window_bytes:
            raise CapabilityRefused(
                f"this workspace's sandbox kv took {self.max_window_bytes} bytes of writes within "
                f"{self.max_ttl} s; try again later"
            )
        self._written += size
        await self._kv.set(key, encoded, ttl=float(ttl))

    async def delete(self, key: str) -> bool:
        return await self._kv.delete(self._check_key(key))
