"""The final record of a chat turn survives SQLite's "database is locked".

Under many concurrent writers SQLite answers "database is locked" once its busy timeout runs out;
the turn's record (the assistant message's end and its ``llm_usage`` row) was then lost with one
log line. Here another connection holds the file's write lock while a turn finishes, and lets go
only once the turn has seen the lock: the row must exist. The busy timeout is made short so the
lock is seen at once; the provider waits on an event so the lock is taken exactly while the turn
is in flight.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from automatos.api.app import create_app
from automatos.chat import models as cm
from automatos.chat import turn as chat_module
from automatos.kernel.db import session as db_session
from automatos.kernel.types import ChatMessage, Completion, StreamEvent
from tests.agents.test_chat import World, add_agent, as_user, build_world, rows, use_provider
from tests.helpers import make_container, serve_app

WAIT = 60.0  # generous bound for events; never a correctness sleep


class GatedProvider:
    """Answers once the test says so: the lock is taken while the turn is in flight."""

    name = "gated"

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self.go = asyncio.Event()

    async def complete(self, messages: Sequence[ChatMessage], *, model: str, **options: Any) -> Completion:
        self.reached.set()
        await asyncio.wait_for(self.go.wait(), WAIT)
        return Completion(text="done", prompt_tokens=3, completion_tokens=1, finish_reason="stop", model=model)

    async def stream(
        self, messages: Sequence[ChatMessage], *, model: str, **options: Any
    ) -> AsyncIterator[StreamEvent]:
        self.reached.set()
        await asyncio.wait_for(self.go.wait(), WAIT)
        yield StreamEvent(delta="done")


class Seen(logging.Handler):
    """Sets ``event`` when the chat logger emits a record containing ``text`` at ``level`` or above."""

    def __init__(self, text: str, level: int) -> None:
        super().__init__(level)
        self.text = text
        self.event = asyncio.Event()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.records.append(record)
            self.event.set()


@pytest.fixture
def watch() -> Iterator[Any]:
    logger = logging.getLogger("automatos.chat")
    handlers: list[Seen] = []

    def add(text: str, level: int) -> Seen:
        handler = Seen(text, level)
        logger.addHandler(handler)
        handlers.append(handler)
        return handler

    yield add
    for handler in handlers:
        logger.removeHandler(handler)


@pytest.fixture
async def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[World]:
    monkeypatch.setattr(db_session, "SQLITE_BUSY_TIMEOUT_MS", 50)  # a held lock is "locked" at once
    app = create_app(make_container(tmp_path))
    async with serve_app(app) as client:
        yield await build_world(client, app.state["kernel"])


def _lock(tmp_path: Path) -> sqlite3.Connection:
    """Another connection holding the database file's write lock (released by ``rollback``)."""
    holder = sqlite3.connect(tmp_path / "automatos.db", isolation_level=None, timeout=WAIT)
    holder.execute("BEGIN IMMEDIATE")
    return holder


async def _turn_in_flight(world: World, provider: GatedProvider) -> asyncio.Task[Any]:
    alpha = world.ids["alpha"]
    use_provider(world, provider)
    await add_agent(world.kernel, alpha, "gate", model_settings={"provider": "gated", "model": "g-1"})
    request = asyncio.create_task(
        world.client.post(
            "/api/chat", json={"agent": "gate", "content": "hi", "stream": False}, headers=as_user("alice", alpha)
        )
    )
    await asyncio.wait_for(provider.reached.wait(), WAIT)  # the user's message is written; the call is on
    return request


async def test_a_locked_database_at_the_end_of_a_turn_does_not_lose_its_record(
    world: World, tmp_path: Path, watch: Any
) -> None:
    provider = GatedProvider()
    retried = watch("database is locked; retrying", logging.WARNING)
    request = await _turn_in_flight(world, provider)
    holder = _lock(tmp_path)
    try:
        provider.go.set()
        # the turn meets the lock (and retries), or (before the fix) gives up and answers
        waiter = asyncio.create_task(retried.event.wait())
        await asyncio.wait({request, waiter}, timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
    finally:
        holder.rollback()  # let go: the next try gets the lock
        holder.close()
    response = await asyncio.wait_for(request, WAIT)
    assert response.status_code == 201, response.text
    assert retried.records, "the turn never met the lock: the test proved nothing"
    (usage,) = await rows(world.kernel, cm.LLMUsage, workspace_id=world.ids["alpha"])
    assert (usage.status, usage.prompt_tokens, usage.completion_tokens) == ("complete", 3, 1)
    message_id = response.json()["message"]["id"]
    (answer,) = await rows(world.kernel, cm.ChatMessage, id=message_id)
    assert (answer.status, answer.content) == ("complete", "done")


async def test_a_record_that_cannot_be_written_is_an_error_naming_the_turn(
    world: World, tmp_path: Path, watch: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chat_module, "RECORD_ATTEMPTS", 2)
    monkeypatch.setattr(chat_module, "RECORD_RETRY_PAUSE", 0.0)
    provider = GatedProvider()
    lost = watch("could not record chat turn", logging.ERROR)
    request = await _turn_in_flight(world, provider)
    holder = _lock(tmp_path)
    try:
        provider.go.set()
        response = await asyncio.wait_for(request, WAIT)  # the answer is not held hostage by its record
    finally:
        holder.rollback()
        holder.close()
    assert response.status_code == 201, response.text
    (record,) = lost.records
    assert record.levelno == logging.ERROR
    assert response.json()["message"]["id"] in record.getMessage() and "2 attempt" in record.getMessage()
