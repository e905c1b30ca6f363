"""Routing statistics of one workspace over a time window (``GET /api/routing/stats``).

From ``routing_decisions`` only (the workspace's rows; every query names ``workspace_id``):

- **Counts in SQL** (one grouped query on the ``(workspace_id, created_at)`` index): the total, by
  route type (``agent``, ``orchestrate``, ``unrouted``), cache hits, and per tier how many it
  decided and its share of the total.
- **Latency from a sample**: the per-tier milliseconds live in each row's ``explanation`` JSON, which
  SQLite and PostgreSQL unnest differently; the newest :data:`LATENCY_SAMPLE` rows of the window are
  read and the median and p95 computed here — per tier over every run of it (decided or not), and
  of the whole route (``total_ms``). ``sample`` says how many rows that was.
- **The window** (both ends included): ``since``/``until`` ISO 8601 datetimes (naive = UTC);
  default the last 24 hours by the router's clock; ``since`` before ``until`` and at most
  :data:`MAX_WINDOW` apart (422 naming the field). Decisions are written ~0.2 s after their answer:
  pending ones are flushed first.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import func, select

from automatos.kernel.errors import ValidationError
from automatos.routing.models import RoutingDecisionRow

if TYPE_CHECKING:
    from automatos.routing.service import RouterService

__all__ = ["DEFAULT_WINDOW", "LATENCY_SAMPLE", "MAX_WINDOW", "RoutingStats", "StatsService", "TierStats", "window"]

DEFAULT_WINDOW = timedelta(hours=24)
MAX_WINDOW = timedelta(days=92)
LATENCY_SAMPLE = 5000


class TierStats(msgspec.Struct, kw_only=True):
    tier: str
    decided: int
    """Decisions this tier made in the window."""
    share: float
    """``decided`` / the window's total (0 when there is none)."""
    runs: int
    """Times it ran in the latency sample (any outcome)."""
    median_ms: float | None
    p95_ms: float | None


class RoutingStats(msgspec.Struct, kw_only=True):
    since: datetime
    until: datetime
    total: int
    agent: int
    """Routed to an agent by a tier."""
    orchestrate: int
    unrouted: int
    """No tier decided (the default agent may have answered)."""
    cache_hits: int
    cache_hit_rate: float
    tiers: list[TierStats]
    """Every tier that decided or ran in the window, by how many it decided."""
    median_ms: float | None
    """A whole route, from the sample."""
    p95_ms: float | None
    sample: int
    """How many of the newest decisions the latencies come from (at most 5,000)."""


def _moment(raw: str | None, field: str) -> datetime | None:
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise ValidationError(f"{field} is an ISO 8601 date and time (2027-03-01T12:00:00Z)", field=field) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def window(since: str | None, until: str | None, now: datetime) -> tuple[datetime, datetime]:
    """The window ``[since, until]``: checked, defaults filled (422 naming the field at fault)."""
    end = _moment(until, "until") or now
    start = _moment(since, "since") or end - DEFAULT_WINDOW
    if start >= end:
        raise ValidationError("since must be before until", field="since")
    if end - start > MAX_WINDOW:
        raise ValidationError(f"the window is at most {MAX_WINDOW.days} days", field="since")
    return start, end


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return round(ordered[index], 3)


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    value = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return round(value, 3)


class StatsService:
    """Reads the router's decision records (the router flushes its pending ones first)."""

    def __init__(self, router: RouterService) -> None:
        self.router = router

    async def stats(self, workspace_id: str, *, since: str | None = None, until: str | None = None) -> RoutingStats:
        start, end = window(since, until, datetime.fromtimestamp(self.router.clock(), UTC))
        await self.router.recorder.flush()
        row = RoutingDecisionRow
        where = (row.workspace_id == workspace_id, row.created_at >= start, row.created_at <= end)
        async with self.router.sessionmaker() as session:
            groups = (
                await session.execute(
                    select(row.route_type, row.tier, row.cache_hit, func.count())
                    .where(*where)
                    .group_by(row.route_type, row.tier, row.cache_hit)
                )
            ).all()
            sample = (
                await session.execute(
                    select(row.explanation, row.total_ms)
                    .where(*where)
                    .order_by(row.created_at.desc())
                    .limit(LATENCY_SAMPLE)
                )
            ).all()
        by_type: dict[str, int] = defaultdict(int)
        decided: dict[str, int] = defaultdict(int)
        hits = total = 0
        for route_type, tier, cache_hit, n in groups:
            total += n
            by_type[route_type] += n
            if tier:
                decided[tier] += n
            if cache_hit:
                hits += n
        runs: dict[str, list[float]] = defaultdict(list)
        totals: list[float] = []
        for explanation, total_ms in sample:
            totals.append(float(total_ms))
            for entry in explanation or []:
                if isinstance(entry, dict) and isinstance(entry.get("tier"), str):
                    ms: Any = entry.get("ms")
                    if isinstance(ms, int | float) and not isinstance(ms, bool) and math.isfinite(ms):
                        runs[entry["tier"]].append(float(ms))
        names = sorted(set(decided) | set(runs), key=lambda t: (-decided.get(t, 0), t))
        tiers = [
            TierStats(
                tier=name,
                decided=decided.get(name, 0),
                share=round(decided.get(name, 0) / total, 4) if total else 0.0,
                runs=len(runs.get(name, [])),
                median_ms=_median(runs.get(name, [])),
                p95_ms=_quantile(runs.get(name, []), 0.95),
            )
            for name in names
        ]
        return RoutingStats(
            since=start,
            until=end,
            total=total,
            agent=by_type.get("agent", 0),
            orchestrate=by_type.get("orchestrate", 0),
            unrouted=by_type.get("unrouted", 0),
            cache_hits=hits,
            cache_hit_rate=round(hits / total, 4) if total else 0.0,
            tiers=tiers,
            median_ms=_median(totals),
            p95_ms=_quantile(totals, 0.95),
            sample=len(sample),
        )
