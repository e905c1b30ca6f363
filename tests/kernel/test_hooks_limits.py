"""The facade's time limits and per-hook timing.

A hung ``async`` implementation is cut at its hook's limit and contained like one that raises
(logged with its extension's name, counted, the others still answer); each hook call made while a
request is served is added to the route's hook times. No timing assertions: the limit is tiny and
the hang is an event that never fires; durations come from an injected clock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from automatos import Event, hookimpl
from automatos.kernel import hooks as facade
from automatos.kernel.hooks import DEFAULT_HOOK_TIMEOUT, HOOK_TIMEOUTS, Hooks, HookTimeout
from automatos.kernel.metrics import HOOK_TIMES, MAX_HOOKS, HookTimes, add_hook_time
from automatos.kernel.registry import Registry
from automatos.kernel.settings import load_settings
from tests.helpers import candidate

TINY = 0.01
"""A limit the hung implementation always reaches (it waits for an event nobody sets)."""
EVENT = Event(name="x")


class Hangs:
    def __init__(self) -> None:
        self.never = asyncio.Event()
        self.entered = asyncio.Event()
        self.started = 0
        self.cancelled = 0

    @hookimpl
    async def on_event(self, event: Event) -> str:
        self.started += 1
        self.entered.set()
        try:
            await self.never.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return "never"


class Waits:
    """Really waits (two loop turns), then answers: the path under a timer."""

    @hookimpl
    async def on_event(self, event: Event) -> str:
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return "waited"


class Quick:
    """An ``async def`` that answers without waiting: the path with no timer."""

    @hookimpl
    async def on_event(self, event: Event) -> str:
        return "quick"


class Plain:
    @hookimpl
    def on_event(self, event: Event) -> str:
        return "plain"


class FailsAfterWaiting:
    @hookimpl
    async def on_event(self, event: Event) -> None:
        await asyncio.sleep(0)
        raise RuntimeError("late boom")


class OwnTimeout:
    """Raises its own ``TimeoutError`` (an upstream's): reported as is, not as the hook's limit."""

    @hookimpl
    async def on_event(self, event: Event) -> None:
        await asyncio.sleep(0)
        raise TimeoutError("upstream took too long")


class FutureAnswer:
    """Returns an awaitable that is not a coroutine (a future): awaited under the limit too."""

    @hookimpl
    def on_event(self, event: Event) -> asyncio.Future[str]:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(future.set_result, "future")
        return future


def _hooks(*plugins: tuple[str, object], **options: Any) -> Hooks:
    registry = Registry()
    registry.load([candidate(f"tests.kernel.{name}", name, loader=lambda p=p: p) for name, p in plugins])
    return Hooks(registry, load_settings({}), **options)


async def test_a_hung_implementation_is_cut_at_the_limit_and_the_others_still_answer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hung = Hangs()
    # the others answer without waiting (no timer): under a tiny limit, only the hung one can reach it
    hooks = _hooks(("a_plain", Plain()), ("b_hangs", hung), ("c_quick", Quick()), timeouts={"on_event": TINY})
    with caplog.at_level(logging.ERROR, logger="automatos.hooks"):
        result = await hooks.on_event(hooks.global_view(), EVENT, None)
    assert sorted(result.results) == ["plain", "quick"]  # those before and after the hung one answered
    assert [(e.plugin, e.hook) for e in result.errors] == [("b_hangs", "on_event")]
    assert result.errors[0].error == f"HookTimeout: no answer within {TINY:g} s (the on_event hook's time limit)"
    assert hung.started == 1 and hung.cancelled == 1  # cancelled, not left running
    assert hooks.errors.total("b_hangs") == 1 and hooks.errors.for_plugin("b_hangs")[0]["hook"] == "on_event"
    assert any("extension b_hangs failed in on_event" in r.getMessage() for r in caplog.records)


async def test_a_hung_implementation_is_recorded_in_the_workspace_view() -> None:
    hooks = _hooks(("hangs", Hangs()), ("quick", Quick()), timeouts={"on_event": TINY})
    view = facade.HookView(hooks.registry.pm, workspace_id="ws-1")
    result = await hooks.first(view, "on_event", {"event": EVENT, "workspace": None})
    assert result == "quick"  # pluggy calls the last registered first: the quick one answers first
    await hooks.call(view, "on_event", {"event": EVENT, "workspace": None})
    assert view.failures["hangs"].startswith("on_event: HookTimeout: no answer within")


async def test_coroutines_that_wait_answer_or_fail_like_any_other() -> None:
    hooks = _hooks(
        ("a_quick", Quick()),
        ("b_waits", Waits()),
        ("c_fails", FailsAfterWaiting()),
        ("d_own_timeout", OwnTimeout()),
        ("e_future", FutureAnswer()),
    )
    result = await hooks.on_event(hooks.global_view(), EVENT, None)
    assert sorted(result.results) == ["future", "quick", "waited"]
    errors = {e.plugin: e.error for e in result.errors}
    assert errors == {"c_fails": "RuntimeError: late boom", "d_own_timeout": "TimeoutError: upstream took too long"}


async def test_cancelling_the_caller_cancels_the_waiting_implementation() -> None:
    hung = Hangs()
    hooks = _hooks(("hangs", hung))
    task = asyncio.ensure_future(hooks.on_event(hooks.global_view(), EVENT, None))
    await hung.entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert hung.cancelled == 1 and hooks.errors.total("hangs") == 0  # the caller's cancellation is no failure


def test_limits_per_hook_and_the_default() -> None:
    hooks = _hooks(timeouts={"on_event": 0.5, "startup": None})
    assert hooks.timeout("on_event") == 0.5
    assert hooks.timeout("startup") is None  # no limit at all
    assert hooks.timeout("shutdown") == HOOK_TIMEOUTS["shutdown"]
    assert hooks.timeout("register_llm_providers") == DEFAULT_HOOK_TIMEOUT
    assert str(HookTimeout("on_event", 2.0)) == "no answer within 2 s (the on_event hook's time limit)"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """The facade's clock: every read advances it by the next step (default 0.25 s)."""
    steps: list[float] = []
    now = [0.0]

    def read() -> float:
        now[0] += steps.pop(0) if steps else 0.25
        return now[0]

    monkeypatch.setattr(facade, "_now", read)
    yield steps


async def test_each_hook_call_is_added_to_the_current_routes_hook_times(clock: list[float]) -> None:
    hooks = _hooks(("a_plain", Plain()), ("b_quick", Quick()), ("c_waits", Waits()))
    await hooks.on_event(hooks.global_view(), EVENT, None)  # outside a request: nothing recorded, no clock read
    times: HookTimes = {}
    token = HOOK_TIMES.set(times)
    try:
        clock.extend([1.0, 0.25, 1.0, 0.75])  # two calls: 0.25 s, then 0.75 s
        await hooks.on_event(hooks.global_view(), EVENT, None)
        await hooks.first(hooks.global_view(), "on_event", {"event": EVENT, "workspace": None})
    finally:
        HOOK_TIMES.reset(token)
    assert times == {"on_event": [2, 1.0, 0.75]}  # per hook call (not per implementation): count, total, max


def test_hook_times_are_bounded() -> None:
    times: HookTimes = {}
    for i in range(MAX_HOOKS + 10):
        add_hook_time(times, f"hook_{i}", 0.5)
    assert len(times) == MAX_HOOKS + 1 and times["other"] == [10, 5.0, 0.5]
