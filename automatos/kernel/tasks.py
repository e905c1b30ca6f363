"""Stopping a background task for sure: cancel it until it ends, and never wait forever.

On Python 3.11 library code can swallow a cancellation: ``asyncio.wait_for`` returns the inner
result when the cancel arrives just as the inner awaitable completes (CPython gh-86296, fixed in
3.12), and a client that turns a cancelled read into its own error hands a loop that catches
``Exception`` one more turn. A shutdown that cancels a background task once and awaits it then
waits forever — seen as a fault test hanging for 300 s after Redis came back while a node stopped.

:func:`cancel_and_wait` cancels, waits ``retry_every`` seconds, cancels again while the task is
still running, and gives up after ``limit`` seconds with an error in the log, so a shutdown always
finishes. Loops that catch ``Exception`` also check a stop flag of their owner, so a swallowed
cancel that comes back as an error ends them too.
"""

from __future__ import annotations

import asyncio
import logging

__all__ = ["cancel_and_wait"]

log = logging.getLogger("automatos.tasks")


async def cancel_and_wait(task: asyncio.Task[object], *, retry_every: float = 1.0, limit: float = 10.0) -> None:
    """Cancel ``task`` and wait until it has ended, cancelling again every ``retry_every`` seconds.

    An exception the task ended with is logged, not raised: stopping is not the place to fail.
    After ``limit`` seconds the task is left running and an error names it. The caller's own
    cancellation propagates as usual.
    """
    cancels = 0
    while not task.done():
        if cancels and cancels * retry_every >= limit:
            log.error("background task %s did not stop within %ss of cancelling; left running", task.get_name(), limit)
            return
        task.cancel()
        cancels += 1
        await asyncio.wait({task}, timeout=retry_every)
    if cancels > 1:
        log.warning("background task %s ignored %d cancellation(s) before it stopped", task.get_name(), cancels - 1)
    if not task.cancelled() and (error := task.exception()) is not None:
        log.warning("background task %s ended with %s: %s", task.get_name(), type(error).__name__, error)
