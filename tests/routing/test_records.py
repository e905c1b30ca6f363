"""Decision rows written by the recorder's own statement, on SQLite and PostgreSQL alike.

:func:`automatos.routing.records.write_rows` hands the driver values it prepared itself (naive UTC
text and 0/1 on SQLite, ``timestamptz``/``bool``/JSON text on PostgreSQL) instead of going through
SQLAlchemy's column types: these tests read the rows back through the ORM and the unrouted page, so
a value written in a form the column types would not have produced shows up as a failure here.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from automatos.kernel.db import Workspace, make_sessionmaker, upgrade
from automatos.kernel.db.session import engine_from_url
from automatos.routing import models as routing_models  # noqa: F401 - the table on the metadata
from automatos.routing.models import RoutingDecisionRow
from automatos.routing.records import MAX_PENDING, DecisionRecorder, PendingDecision, unrouted_page
from tests.helpers import migrations
from tests.services import fresh_database

EXPLANATION = (
    '[{"tier":"override","outcome":"pass","score":null,"ms":0.002},'
    '{"tier":"cache","outcome":"decided","score":0.9,"ms":0.01,"note":"é ☃"}]'
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with AsyncExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite+aiosqlite:///{(tmp_path / 'records.db').as_posix()}"
        else:
            postgres = request.getfixturevalue("postgres_url")
            url = await stack.enter_async_context(fresh_database(postgres, prefix="automatos_rec_"))
        await upgrade(url, sources=migrations())
        engine = engine_from_url(url)
        stack.push_async_callback(engine.dispose)
        yield make_sessionmaker(engine)


def _decision(workspace_id: str, at: float, **changes: Any) -> PendingDecision:
    base = PendingDecision(
        workspace_id=workspace_id,
        at=at,
        text_sha256="a" * 64,
        excerpt=None,
        source="email",
        channel=None,
        route_type="agent",
        tier="cache",
        agent_id=str(uuid.uuid4()),
        confidence=0.9,
        reason="the same message was decided by rules",
        explanation=EXPLANATION,
        cache_hit=True,
        total_ms=0.123,
    )
    return base._replace(**changes)


async def _recorder(sessions: async_sessionmaker[AsyncSession]) -> tuple[DecisionRecorder, str, str]:
    async with sessions.begin() as session:
        mine, theirs = Workspace(slug="rec-a", name="a"), Workspace(slug="rec-b", name="b")
        session.add_all([mine, theirs])
        await session.flush()
        ids = mine.id, theirs.id

    def refuse(coro: object) -> object:
        coro.close()  # type: ignore[attr-defined]
        raise AssertionError("flushed by hand in these tests")

    return DecisionRecorder(sessions, refuse, delay=3600), ids[0], ids[1]  # type: ignore[arg-type]


async def test_rows_read_back_as_the_column_types_would_have_written_them(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    recorder, mine, theirs = await _recorder(sessions)
    recorder._task = _Never()  # type: ignore[assignment]
    at = datetime(2026, 12, 6, 8, 30, 15, 123456, tzinfo=UTC).timestamp()
    recorder.add(_decision(mine, at))
    recorder.add(
        _decision(
            mine, at + 1.5, route_type="unrouted", tier=None, agent_id=None, confidence=0.0, cache_hit=False
        )._replace(excerpt="where's my stuff", reason="no tier decided")
    )
    recorder.add(_decision(theirs, at + 2, route_type="unrouted", tier=None, agent_id=None, excerpt="theirs"))
    assert await recorder.flush() == 3 and recorder.dropped == 0 and not recorder.pending

    async with sessions() as session:
        rows = list(
            await session.scalars(
                select(RoutingDecisionRow)
                .where(RoutingDecisionRow.workspace_id == mine)
                .order_by(RoutingDecisionRow.created_at)
            )
        )
        assert len(rows) == 2
        first, second = rows
        assert first.created_at == datetime(2026, 12, 6, 8, 30, 15, 123456, tzinfo=UTC)
        assert second.created_at - first.created_at == timedelta(seconds=1.5)
        assert first.cache_hit is True and second.cache_hit is False
        assert first.explanation[1] == {"tier": "cache", "outcome": "decided", "score": 0.9, "ms": 0.01, "note": "é ☃"}
        assert (first.route_type, first.tier, first.confidence, first.total_ms) == ("agent", "cache", 0.9, 0.123)
        assert len({first.id, second.id}) == 2
        assert all(uuid.UUID(r.id).version == 4 and str(uuid.UUID(r.id)) == r.id for r in rows)
        # the time filter compares what was written with what SQLAlchemy binds
        page, total = await unrouted_page(
            session, mine, since=datetime(2026, 12, 6, 8, 30, 16, tzinfo=UTC), offset=0, limit=10
        )
        assert total == 1 and page[0].excerpt == "where's my stuff" and page[0].explanation[0]["tier"] == "override"
        later, total = await unrouted_page(
            session, mine, since=datetime(2026, 12, 6, 8, 30, 17, tzinfo=UTC), offset=0, limit=10
        )
        assert total == 0 and later == []


async def test_a_full_batch_and_a_refused_write_lose_no_request(sessions: async_sessionmaker[AsyncSession]) -> None:
    recorder, mine, _ = await _recorder(sessions)
    recorder._task = _Never()  # type: ignore[assignment]
    at = datetime(2026, 12, 6, tzinfo=UTC).timestamp()
    for i in range(2500):  # more than one batch: several statements, every row written once
        recorder.add(_decision(mine, at + i / 1000, text_sha256=f"{i:064x}"))
    assert await recorder.flush() == 2500
    async with sessions() as session:
        digests = set(
            await session.scalars(select(RoutingDecisionRow.text_sha256).where(RoutingDecisionRow.workspace_id == mine))
        )
    assert digests == {f"{i:064x}" for i in range(2500)}
    # a row the database refuses (a workspace that does not exist) drops its batch, counted
    recorder.add(_decision(str(uuid.uuid4()), at))
    assert await recorder.flush() == 0 and recorder.dropped == 1
    # past MAX_PENDING new decisions are dropped and counted, never raised to the route
    recorder.pending = [_decision(mine, at)] * MAX_PENDING
    recorder.add(_decision(mine, at))
    assert recorder.dropped == 2 and len(recorder.pending) == MAX_PENDING


class _Never:
    """A background task that never finishes: ``add`` does not spawn another."""

    def done(self) -> bool:
        return False
