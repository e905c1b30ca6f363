"""The kernel bus when one of its two paths is down: publishing never raises, polling catches up.

A journal that fails on cue stands in for a database that is down, and a pub/sub backend that fails
on cue for Redis; the bus is the real one.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import pytest

from automatos.extensions.cache.memory import MemoryPubSub
from automatos.kernel.bus import KernelBus
from automatos.kernel.db.base import utcnow


class Journal:
    def __init__(self) -> None:
        self.rows: list[tuple[str, dict[str, Any], datetime]] = []
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise ConnectionRefusedError("the database is down")

    async def append_event(self, event_id: str, kind: str, payload: dict[str, Any]) -> None:
        self._check()
        self.rows.append((event_id, payload, utcnow()))

    async def events_since(self, since: datetime) -> list[tuple[str, dict[str, Any], datetime]]:
        self._check()
        return [row for row in self.rows if row[2] >= since]

    async def prune_events(self, before: datetime) -> int:
        return 0


class BrokenPubSub(MemoryPubSub):
    down = False

    async def publish(self, channel: str, message: bytes) -> None:
        if self.down:
            raise ConnectionError("Redis is down")
        await super().publish(channel, message)


async def test_a_publish_with_pubsub_down_is_journalled_and_reaches_a_polling_node(
    caplog: pytest.LogCaptureFixture,
) -> None:
    journal, pubsub = Journal(), BrokenPubSub()
    sender, receiver = KernelBus(pubsub, journal), KernelBus(MemoryPubSub(), journal)
    seen: list[dict[str, Any]] = []
    receiver.on("api_key.revoked", seen.append)
    start = utcnow() - timedelta(seconds=1)
    receiver._polled_until = start
    pubsub.down = True
    for prefix in ("a", "b", "c"):
        await sender.publish("api_key.revoked", prefix=prefix)  # no exception: the change was committed
    assert len(journal.rows) == 3
    assert sender.publishing.failures == 1 and sender.publishing.skipped == 2  # Redis is not asked again at once
    assert caplog.text.count("publishing on the kernel bus failed") == 1  # one line, not one per message
    assert await receiver.poll(utcnow()) == 3
    assert [m["prefix"] for m in seen] == ["a", "b", "c"]


async def test_polling_a_journal_that_is_down_loses_nothing(caplog: pytest.LogCaptureFixture) -> None:
    journal = Journal()
    sender, receiver = KernelBus(MemoryPubSub(), journal), KernelBus(MemoryPubSub(), journal)
    seen: list[str] = []
    receiver.on("directory", lambda m: seen.append(m["workspace_id"]))
    receiver._polled_until = utcnow() - timedelta(seconds=1)
    await sender.publish("directory", workspace_id="before")
    journal.down = True
    with caplog.at_level(logging.WARNING, logger="automatos.bus"):
        for _ in range(5):
            assert await receiver.poll(utcnow()) == 0  # no exception, nothing handled
        await sender.publish("directory", workspace_id="lost")  # both paths down for it: lost, no exception
    assert caplog.text.count("reading the kernel bus journal failed") == 1
    assert "writing the kernel bus journal failed" in caplog.text
    journal.down = False
    await sender.publish("directory", workspace_id="after")
    assert await receiver.poll(utcnow()) == 2  # the window starts where the last good poll ended
    assert seen == ["before", "after"]
