"""Failing open: calls to a shared service whose failure a request can live without.

A cache read that fails is a miss; a cache write or delete that fails is skipped; a pub/sub publish
that fails is left to the bus journal. None of them may turn a request into a 500 (a Redis outage
must not take chat down). :class:`FailOpen` is that policy in one place:

- each call is bounded by ``timeout`` seconds (a hung server costs a request at most that; ``None``
  for calls that bound themselves, like a database write waiting for the pool);
- after a failure the service is not asked again for ``retry_seconds``: during an outage requests
  do not each pay for a refused connection, and the first call after it finds out whether the
  service is back, so recovery needs no restart;
- failures are counted (``failures``, ``skipped``) and logged at most once per ``warn_seconds``, with
  how many were suppressed meanwhile, so an outage is one line a minute, not one per request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["FailOpen"]

T = TypeVar("T")
D = TypeVar("D")


class FailOpen:
    def __init__(
        self,
        what: str,
        logger: logging.Logger,
        *,
        timeout: float | None = 1.0,
        retry_seconds: float = 1.0,
        warn_seconds: float = 60.0,
        level: int = logging.WARNING,
        then: str = "going on without it",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what = what
        self.then = then
        """What happens instead, for the log line."""
        self.log = logger
        self.level = level
        self.timeout = timeout
        self.retry_seconds = retry_seconds
        self.warn_seconds = warn_seconds
        self.clock = clock
        self.failures = 0
        """Calls that raised or timed out."""
        self.skipped = 0
        """Calls not attempted because a failure was recent."""
        self._down_until = 0.0
        self._warned_at = float("-inf")
        self._suppressed = 0

    @property
    def down(self) -> bool:
        """Whether the last call failed less than ``retry_seconds`` ago."""
        return self.clock() < self._down_until

    async def call(self, action: Callable[[], Awaitable[T]], default: D) -> T | D:
        """``await action()``, or ``default`` when it fails, times out or failed a moment ago."""
        if self._down_until:
            if self.clock() < self._down_until:
                self.skipped += 1
                return default
            self._down_until = 0.0
        try:
            async with asyncio.timeout(self.timeout):
                return await action()
        except AssertionError:  # a broken rule of the code (a nested checkout), not an outage
            raise
        except Exception as exc:  # TimeoutError included; cancellation is not ours to swallow
            self.failed(exc)
            return default

    def failed(self, exc: BaseException) -> None:
        """Count a failure and log it (throttled); also for callers that ran the action themselves."""
        self.failures += 1
        now = self.clock()
        self._down_until = now + self.retry_seconds
        if now - self._warned_at >= self.warn_seconds:
            suppressed = f" ({self._suppressed} more since the last warning)" if self._suppressed else ""
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self.log.log(self.level, "%s failed (%s); %s%s", self.what, reason, self.then, suppressed)
            self._warned_at = now
            self._suppressed = 0
        else:
            self._suppressed += 1
