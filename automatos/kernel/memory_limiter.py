"""An in-process sliding-window counter: the embedded default's rate limiter.

Why not ``limits``' memory storage here: it is the same algorithm (two fixed windows, the previous
one weighted by how much of it still overlaps the sliding window), but through its async storage
API it cost ~16 µs per request measured here, a quarter of the whole middleware; this is one dict
lookup and a few float operations (~1 µs). With Redis configured the middleware keeps using
``limits`` (one Lua round trip, shared by every node) — this class is only for one process.

O(1) per hit whatever one client's volume; memory is two counters per active client, and clients
idle for two windows are dropped by a sweep that runs at most every ``sweep_seconds``.

Time comes from one injected ``clock`` (``time.monotonic`` by default) and from nowhere else: the
counting and the sweep read the same clock, so a test can start a fake clock at 0 without the sweep
comparing it against the machine's uptime (which made a test fail on freshly booted machines).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

__all__ = ["SlidingWindowCounter"]


class SlidingWindowCounter:
    """Counts of ``(key, amount, window)`` slots; :meth:`take` counts a hit and says what is left."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, sweep_seconds: float = 10.0) -> None:
        # key -> [window index, count in that window, count in the window before it]
        self._windows: dict[tuple[str, int, float], list[float]] = {}
        self._clock = clock
        self._sweep_seconds = sweep_seconds
        self._swept_at = clock()

    def take(self, key: str, amount: int, window: float) -> tuple[bool, int, int]:
        """Count one request of ``key`` against ``amount`` per ``window`` seconds.

        Returns ``(allowed, remaining, reset)``: whether it is allowed (and counted; a refused
        request is not counted), how many more requests would be allowed right now, and seconds
        (at least 1) until the count next goes down — the end of the current fixed window when
        allowed, when one more request would be allowed when refused (``Retry-After``). These are
        the ``RateLimit-Remaining`` and ``RateLimit-Reset`` headers' values.
        """
        if amount < 1 or not window > 0:  # nothing may pass (and nothing below may divide by zero)
            return False, 0, max(1, math.ceil(window)) if 0 < window < math.inf else 1
        now = self._clock()
        index = now // window
        slot = (key, amount, window)
        state = self._windows.get(slot)
        if state is None:
            state = self._windows[slot] = [index, 0.0, 0.0]
        elif state[0] != index:
            state[2] = state[1] if state[0] == index - 1 else 0.0
            state[1] = 0.0
            state[0] = index
        elapsed = now - index * window
        weighted = state[2] * (1.0 - elapsed / window) + state[1]
        if weighted + 1.0 <= amount:
            state[1] += 1.0
            if now - self._swept_at > self._sweep_seconds:
                self._sweep(now)
            return True, int(amount - weighted - 1.0), max(1, math.ceil(window - elapsed))
        # when will the weighted count have room for one more (it only falls as time passes)?
        current, previous = state[1], state[2]
        if current + 1.0 > amount:  # not before the next window, where ``current`` becomes the weight
            wait = (window - elapsed) + window * (1.0 - (amount - 1.0) / current)
        else:  # within this window, once the previous window's share has decayed enough
            wait = window * (1.0 - (amount - 1.0 - current) / previous) - elapsed
        return False, 0, max(1, math.ceil(wait))

    def hit(self, key: str, amount: int, window: float) -> int | None:
        """:meth:`take` as ``None`` when allowed, else the seconds until one more would be allowed."""
        allowed, _, reset = self.take(key, amount, window)
        return None if allowed else reset

    def _sweep(self, now: float) -> None:
        self._swept_at = now
        stale = [slot for slot, state in self._windows.items() if now // slot[2] - state[0] > 1]
        for slot in stale:
            del self._windows[slot]

    def __len__(self) -> int:
        return len(self._windows)
