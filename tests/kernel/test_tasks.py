"""Background tasks stop for sure, even when something swallows a cancellation (kernel/tasks.py).

The hang this guards against: on Python 3.11 ``asyncio.wait_for`` (and client libraries) can eat a
cancel, and a shutdown that cancels once and awaits waits forever. Progress here is sequenced by
events; the waits are liveness bounds of the helper itself, never asserted as durations.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from automatos.extensions.cache.memory import MemoryPubSub
from automatos.kernel.bus import KernelBus
from automatos.kernel.tasks import cancel_and_wait


async def swallowing(times: int, started: asyncio.Event) -> None:
    """Ignore the first ``times`` cancellations, then let the next one through."""
    started.set()
    ignored = 0
    while True:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            if ignored == times:
                raise
            ignored += 1


async def test_a_task_that_swallows_a_cancel_is_cancelled_again(caplog: pytest.LogCaptureFixture) -> None:
    started = asyncio.Event()
    task = asyncio.create_task(swallowing(2, started), name="swallower")
    await started.wait()
    with caplog.at_level(logging.WARNING, logger="automatos.tasks"):
        await cancel_and_wait(task, retry_every=0.01, limit=60)
    assert task.cancelled()
    assert "swallower ignored 2 cancellation(s)" in caplog.text


async def test_a_task_that_never_stops_is_left_with_an_error(caplog: pytest.LogCaptureFixture) -> None:
    started = asyncio.Event()
    task = asyncio.create_task(swallowing(10**9, started), name="stubborn")
    await started.wait()
    with caplog.at_level(logging.WARNING, logger="automatos.tasks"):
        await cancel_and_wait(task, retry_every=0.001, limit=0.005)  # returns: shutdown must finish
    assert not task.done()
    assert "stubborn did not stop" in caplog.text
    task.get_coro().close()  # end it without another cancel round


async def test_an_error_the_task_ends_with_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    started = asyncio.Event()

    async def fails_on_cancel() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise ConnectionError("the client turned the cancel into this") from None

    task = asyncio.create_task(fails_on_cancel(), name="converter")
    await started.wait()
    with caplog.at_level(logging.WARNING, logger="automatos.tasks"):
        await cancel_and_wait(task)
    assert "converter ended with ConnectionError" in caplog.text


async def test_an_already_finished_task_is_left_alone() -> None:
    task = asyncio.create_task(asyncio.sleep(0))
    await task
    await cancel_and_wait(task)
    assert task.done() and not task.cancelled()


class StubbornPubSub(MemoryPubSub):
    """A pub/sub whose subscriptions eat the first cancel, as a client library racing a reply can."""

    def __init__(self) -> None:
        super().__init__()
        self.listening = asyncio.Event()

    async def subscribe(self, channel: str) -> Any:
        inner = await super().subscribe(channel)
        outer = self

        class Eating:
            def __aiter__(self) -> Eating:
                return self

            async def __anext__(self) -> bytes:
                outer.listening.set()
                try:
                    return await inner.__anext__()
                except asyncio.CancelledError:
                    return await inner.__anext__()  # swallowed: waits for the next message

            async def aclose(self) -> None:
                await inner.aclose()

        return Eating()


async def test_the_bus_stops_when_its_subscription_swallows_the_cancel() -> None:
    pubsub = StubbornPubSub()
    bus = KernelBus(pubsub)
    await bus.start()
    await pubsub.listening.wait()
    await bus.stop()  # before kernel/tasks.py: waited forever
    assert bus._task is None
