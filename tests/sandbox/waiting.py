"""What the sandbox tests wait on instead of sleeping: conditions with a generous bound, and gates.

A gate is a capability a snippet calls to say it is running; the call then waits until the test
opens it. Tests order events by these signals, never by how long something should take, so CPU
contention can slow them down but never change their outcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from automatos.kernel.backends import KVBackend

__all__ = ["BOUND", "GATED", "Gate", "GateSpec", "Gates", "until", "until_async"]

BOUND = 60.0
"""Generous bound on any wait: reached only when the behaviour is wrong."""
GATED = "result = gate.enter()"
"""A snippet that signals it started, then waits for its gate."""


async def until(condition: Callable[[], bool], what: str, bound: float = BOUND) -> None:
    """Wait until ``condition()`` holds (polled), failing with ``what`` after ``bound`` seconds."""
    try:
        async with asyncio.timeout(bound):
            while not condition():  # noqa: ASYNC110 - process or queue state, which no event announces
                await asyncio.sleep(0.01)
    except TimeoutError:
        pytest.fail(f"not within {bound:g} s: {what}")


async def until_async(condition: Callable[[], Awaitable[bool]], what: str, bound: float = BOUND) -> None:
    """:func:`until` for a condition that must be read with I/O (a queue's counters)."""
    try:
        async with asyncio.timeout(bound):
            while not await condition():  # noqa: ASYNC110 - read with I/O, no event announces it
                await asyncio.sleep(0.01)
    except TimeoutError:
        pytest.fail(f"not within {bound:g} s: {what}")


class Gate:
    """The ``gate`` capability of a local pool: counts entries, then waits until :attr:`open` is set."""

    name = "gate"
    methods = frozenset({"enter"})

    def __init__(self, on_enter: Callable[[], None] | None = None) -> None:
        self.entered = 0
        self.entered_event = asyncio.Event()
        self.open = asyncio.Event()
        self.cancelled = asyncio.Event()
        self.on_enter = on_enter

    async def call(self, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        self.entered += 1
        self.entered_event.set()
        if self.on_enter is not None:
            self.on_enter()
        try:
            await self.open.wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        return "through"


class Gates:
    """The worker side of ``gate`` in queue mode: :meth:`rebuild` makes one :class:`Gate` per spec id."""

    def __init__(self) -> None:
        self.made: dict[str, Gate] = {}

    def __getitem__(self, key: str) -> Gate:
        return self.made.setdefault(key, Gate())

    def rebuild(self, spec: dict[str, Any], *, kv: KVBackend | None) -> Gate:
        return self[str(spec["id"])]


class GateSpec:
    """The caller side of ``gate`` in queue mode: only its spec crosses the queue."""

    name = "gate"
    methods = frozenset({"enter"})

    def __init__(self, key: str) -> None:
        self.key = key

    def spec(self) -> dict[str, Any]:
        return {"name": "gate", "id": self.key}

    async def call(self, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        raise AssertionError("a gate in queue mode runs on the worker")
