"""The sandbox worker's side of the protocol: framed JSON to the parent, and the capability proxies.

Loaded by path by :mod:`automatos.sandbox.worker` (see its docstring, "Loading", and the frames it
lists), never imported from the package; it imports only the standard library and its sibling
``guards.py``.

- :class:`_Channel`: frames of a 4-byte big-endian length and UTF-8 JSON over the process's
  original stdin/stdout; messages are strict JSON (:func:`_encode`: no NaN/Infinity, no lone
  surrogates). A reply larger than :data:`MAX_REPLY`, or one that could not be read whole, marks
  the channel ``broken``: the worker ends after the run.
- :class:`Capability`: a proxy whose allowed methods (:class:`_Method`) are ``call`` frames to the
  parent, answered by ``reply`` frames, with the CPU timer's signal held off for the exchange so a
  call and its reply stay in step; nothing else of it is reachable or modifiable.
- :class:`Logger`: the ``log`` capability, lines kept in the result (capped, counted against the
  output budget), never written anywhere.
"""

from __future__ import annotations

import json
import signal
import struct
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from automatos.sandbox.guards import Output, PolicyViolation, _plain_str
else:
    from automatos_sandbox_guards import Output, PolicyViolation, _plain_str

__all__ = ["Capability", "CapabilityError", "ChannelBroken", "Logger"]


_PROF = {signal.SIGPROF}


def _encode(message: dict[str, Any]) -> bytes:
    """Strict JSON (no NaN/Infinity, no lone surrogates): what the parent's decoder accepts."""
    return json.dumps(message, separators=(",", ":"), default=_not_json, allow_nan=False, ensure_ascii=False).encode()


MAX_REPLY = 64 * 1024 * 1024
"""Largest frame the worker reads (a capability reply)."""


class ChannelBroken(BaseException):
    """The protocol channel lost its footing (a read failed half-way); the worker must not be reused."""


class _Channel:
    def __init__(self, read: Any, write: Any) -> None:
        self._read = read
        self._write = write
        self.broken = False
        """Set when a read failed half-way: the stream may be mid-frame, so this worker ends after the run."""

    def send(self, message: dict[str, Any]) -> None:
        self.send_bytes(_encode(message))

    def send_bytes(self, data: bytes) -> None:
        frame = memoryview(struct.pack(">I", len(data)) + data)
        while frame:
            written = self._write.write(frame)
            frame = frame[written or 0 :]
        self._write.flush()

    def _read_exact(self, size: int) -> bytes | None:
        chunks, missing = [], size
        while missing:
            chunk = self._read.read(missing)
            if not chunk:
                return None
            chunks.append(chunk)
            missing -= len(chunk)
        return b"".join(chunks)

    def receive(self) -> dict[str, Any] | None:
        head = self._read_exact(4)
        if head is None:
            return None
        (size,) = struct.unpack(">I", head)
        if size > MAX_REPLY:
            self.broken = True
            return None
        data = self._read_exact(size)
        if data is None:
            return None
        message = json.loads(data)
        return message if isinstance(message, dict) else None


def _not_json(value: Any) -> Any:
    raise TypeError(f"a value of type {type(value).__name__} is not JSON")


class CapabilityError(Exception):
    """A capability refused or failed a call (the parent's message says why)."""


class _Method:
    __slots__ = ("_cap", "_channel", "_job", "_method", "_state")

    def __init__(self, channel: _Channel, job: str, cap: str, method: str, state: dict[str, int]) -> None:
        self._channel, self._job, self._cap, self._method, self._state = channel, job, cap, method, state

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self._state["calls"] += 1
        call = self._state["calls"]
        message = {
            "op": "call",
            "id": self._job,
            "call": call,
            "cap": self._cap,
            "method": self._method,
            "args": list(args),
            "kwargs": kwargs,
        }
        try:
            data = _encode(message)
        except (TypeError, ValueError) as exc:
            raise CapabilityError(f"{self._cap}.{self._method}: arguments must be JSON values ({exc})") from None
        # the CPU timer is held off for the exchange: a call and its reply stay in step
        signal.pthread_sigmask(signal.SIG_BLOCK, _PROF)
        try:
            self._channel.send_bytes(data)
            reply = self._channel.receive()
        except BaseException:  # e.g. MemoryError reading the reply: the stream may be mid-frame
            self._channel.broken = True
            raise ChannelBroken(f"{self._cap}.{self._method}: the reply could not be read") from None
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _PROF)
        if self._channel.broken:
            raise ChannelBroken(f"{self._cap}.{self._method}: the reply was too large")
        if reply is None:
            raise SystemExit(0)  # the parent went away
        if reply.get("op") != "reply" or reply.get("call") != call:
            raise CapabilityError("capability channel out of step")
        if not reply.get("ok"):
            raise CapabilityError(str(reply.get("error")))
        return reply.get("value")


class Capability:
    """A proxy whose allowed methods are calls to the parent; nothing else is reachable."""

    __slots__ = ("_methods", "_name")

    def __init__(self, name: str, methods: dict[str, _Method]) -> None:
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_methods", methods)

    def __getattr__(self, attr: str) -> Any:
        try:
            return self._methods[attr]
        except KeyError:
            raise AttributeError(f"capability {self._name!r} has no method {attr!r}") from None

    def __setattr__(self, attr: str, value: Any) -> None:
        raise PolicyViolation(f"capability {self._name!r} cannot be modified")

    def __delattr__(self, attr: str) -> None:
        raise PolicyViolation(f"capability {self._name!r} cannot be modified")

    def __repr__(self) -> str:
        return f"<capability {self._name!r}: {', '.join(sorted(self._methods))}>"


class Logger:
    """The ``log`` capability: lines collected into the result (capped), never written anywhere."""

    __slots__ = ("_lines", "_output")
    _lines: list[dict[str, str]]
    _output: Output | None

    def __init__(self, output: Output | None = None) -> None:
        object.__setattr__(self, "_lines", [])
        object.__setattr__(self, "_output", output)

    def _add(self, level: str, message: Any) -> None:
        text = _plain_str(message)[:10_000]
        if self._output is not None:
            self._output.charge(len(text.encode("utf-8", "replace")) + len(level) + 32)  # logs share the budget
        if len(self._lines) < 1000:
            self._lines.append({"level": level, "message": text})

    def debug(self, message: Any) -> None:
        self._add("debug", message)

    def info(self, message: Any) -> None:
        self._add("info", message)

    def warning(self, message: Any) -> None:
        self._add("warning", message)

    def error(self, message: Any) -> None:
        self._add("error", message)
