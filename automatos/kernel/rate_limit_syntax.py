"""The one grammar for rate-limit strings: API keys' ``rate_limit``, ``RATE_LIMIT_DEFAULT``, ``RATE_LIMIT_ROUTES``.

Why not ``limits.parse``: it accepts far more than we can serve. ``1/999999999999999 day`` makes
Redis refuse the counter's expiry (``value is not an integer or out of range``), ``0/minute``
divided by zero in the in-process counter, and ``"60/minute\\n"`` or ``"60 per minute"`` were stored
as given. Every writer validates with :func:`parse_rate_limit` and every reader parses with it, so a
string is either served exactly as written or refused (422 at write time; ignored with a warning
when an old stored value no longer parses).

The grammar, exactly (no spaces around ``/``, no surrounding whitespace, lower-case units)::

    LIMITS   = LIMIT *(";" LIMIT)          (at most 8 items)
    LIMIT    = AMOUNT "/" [MULTIPLE " "] UNIT
    AMOUNT   = 1 … 1,000,000,000          (decimal digits, no sign, no leading zero)
    MULTIPLE = 1 … the count of UNIT in 366 days
    UNIT     = second | minute | hour | day

So the window is at most 366 days (31,622,400 s). The amount goes up to 10^9 because the
benchmarks use ``1000000000/minute`` for "never refuse"; amounts are counted in int64 on Redis, so
that is safe. The middleware enforces one limit per client and per route: the first item of a
list (as it always did); every item is validated, and a key's cap check uses the fastest.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from limits import RateLimitItem

__all__ = [
    "MAX_AMOUNT",
    "MAX_WINDOW_SECONDS",
    "RATE_LIMIT_FORM",
    "RateLimitError",
    "parse_rate_limit",
    "parse_rate_limits",
    "per_second",
]

MAX_AMOUNT = 1_000_000_000
"""Largest number of requests per window."""
MAX_WINDOW_SECONDS = 366 * 86400
"""Longest window: a (leap) year."""
RATE_LIMIT_FORM = "N/[M ]second|minute|hour|day[;…] (N 1-1000000000, window at most 366 days)"
"""What error messages say is expected."""

_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_GRAMMAR = re.compile(r"([1-9][0-9]{0,9})/(?:([1-9][0-9]{0,7}) )?(second|minute|hour|day)")


class RateLimitError(ValueError):
    """A rate-limit string outside the grammar; the message says what is expected."""


def _window(text: str) -> tuple[int, int, str]:
    """``(amount, multiple, unit)`` of a string in the grammar, else :class:`RateLimitError`."""
    if not isinstance(text, str):
        raise RateLimitError(f"expected a string {RATE_LIMIT_FORM}")
    match = _GRAMMAR.fullmatch(text)  # fullmatch: no trailing newline, no second item
    if match is None:
        raise RateLimitError(f"{text[:80]!r} is malformed: expected {RATE_LIMIT_FORM}")
    amount = int(match[1])
    multiple = int(match[2] or 1)
    unit = match[3]
    if amount > MAX_AMOUNT:
        raise RateLimitError(f"{text!r}: at most {MAX_AMOUNT} requests per window")
    if multiple * _UNIT_SECONDS[unit] > MAX_WINDOW_SECONDS:
        raise RateLimitError(f"{text!r}: the window may be at most 366 days")
    return amount, multiple, unit


def _windows(text: str) -> list[tuple[int, int, str]]:
    if not isinstance(text, str):
        raise RateLimitError(f"expected a string {RATE_LIMIT_FORM}")
    if len(text) > 64:  # ``api_keys.rate_limit`` is a varchar(64)
        raise RateLimitError(f"{text[:80]!r}: at most 64 characters")
    parts = text.split(";")
    if len(parts) > 8:
        raise RateLimitError(f"{text[:80]!r}: at most 8 limits")
    return [_window(part) for part in parts]


def parse_rate_limits(text: str) -> list[RateLimitItem]:
    """The ``limits`` items of ``text``, or :class:`RateLimitError` (a ``ValueError``) saying why not."""
    from limits import RateLimitItemPerDay, RateLimitItemPerHour, RateLimitItemPerMinute, RateLimitItemPerSecond

    classes = {
        "second": RateLimitItemPerSecond,
        "minute": RateLimitItemPerMinute,
        "hour": RateLimitItemPerHour,
        "day": RateLimitItemPerDay,
    }
    return [classes[unit](amount, multiple) for amount, multiple, unit in _windows(text)]


def parse_rate_limit(text: str) -> RateLimitItem:
    """The limit the middleware enforces for ``text`` (its first item; every item is validated)."""
    return parse_rate_limits(text)[0]


def per_second(text: str) -> float:
    """The fastest rate any item of ``text`` allows, in requests per second (to compare with a cap)."""
    return max(amount / (multiple * _UNIT_SECONDS[unit]) for amount, multiple, unit in _windows(text))
