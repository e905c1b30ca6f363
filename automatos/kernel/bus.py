"""The kernel bus: small JSON messages that keep every node's caches in step.

Two paths, one message:
- **pub/sub** (``automatos:kernel`` on the configured backend) delivers at once to every node that
  is subscribed — Redis in a cluster, in-process on the embedded default;
- **the journal** (``kernel_events`` table) records every message, and each node polls it every
  ``poll_seconds``. That catches what pub/sub cannot deliver: a message from another process on the
  embedded default (``automatos keys revoke`` next to a running server), or one lost while a Redis
  connection was down (Redis pub/sub is at-most-once).

Publishing answers for what the caller has committed: it never raises because a path is down. A
pub/sub publish that fails (Redis down or hung; bounded by ``publish_timeout``) is counted and
logged, throttled, and the journal delivers the message to every node within ``poll_seconds``. A
journal write that fails is counted and logged as an error, and pub/sub still carries the message;
with both down the message is lost and receivers fall back on their caches' own expiry (API keys
``API_KEY_CACHE_SECONDS``, views and settings ``AUTOMATOS_RECHECK_SECONDS``).

Every message carries an ``id``; a node handles each id once, whichever path brings it first.
Handlers only invalidate caches, so a late duplicate would be harmless anyway. The poll reads a
window that overlaps the previous one (``overlap_seconds``) because rows from other nodes may commit
slightly out of clock order; the seen-ids set makes the overlap free.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

import msgspec

from automatos.kernel.backends import PubSubBackend
from automatos.kernel.faults import FailOpen
from automatos.kernel.tasks import cancel_and_wait

__all__ = ["CHANNEL", "Journal", "KernelBus"]

log = logging.getLogger("automatos.bus")
CHANNEL = "automatos:kernel"
Handler = Callable[[dict[str, Any]], Awaitable[None] | None]
SEEN_LIMIT = 10_000


class Journal(Protocol):
    """Where bus messages are recorded (the kernel store implements it over ``kernel_events``)."""

    async def append_event(self, event_id: str, kind: str, payload: dict[str, Any]) -> None: ...

    async def events_since(self, since: datetime) -> list[tuple[str, dict[str, Any], datetime]]: ...

    async def prune_events(self, before: datetime) -> int: ...


class KernelBus:
    def __init__(
        self,
        pubsub: PubSubBackend,
        journal: Journal | None = None,
        *,
        channel: str = CHANNEL,
        overlap_seconds: float = 30.0,
        publish_timeout: float = 1.0,
    ) -> None:
        self.pubsub = pubsub
        self.journal = journal
        self.channel = channel
        self.overlap = timedelta(seconds=overlap_seconds)
        self._handlers: dict[str, list[Handler]] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._ready = asyncio.Event()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._polled_until: datetime | None = None
        self.publishing = FailOpen(
            "publishing on the kernel bus", log, timeout=publish_timeout, then="the journal delivers it"
        )
        """Pub/sub publishes: a failure is skipped (the journal delivers), counted, logged throttled."""
        self.journaling = FailOpen(
            "writing the kernel bus journal",
            log,
            timeout=None,
            retry_seconds=0.0,
            level=logging.ERROR,
            then="only pub/sub carries the message",
        )
        self.reading = FailOpen(
            "reading the kernel bus journal", log, timeout=None, retry_seconds=0.0, then="trying again at the next poll"
        )
        self.listening = FailOpen(
            "the kernel bus subscription", log, retry_seconds=0.0, then="resubscribing; the journal delivers meanwhile"
        )

    def on(self, kind: str, handler: Handler) -> None:
        self._handlers.setdefault(kind, []).append(handler)

    async def publish(self, kind: str, **data: Any) -> None:
        """Journal and publish ``{"kind": kind, "id": …, **data}``; never raises for a path that is down."""
        message = {"kind": kind, "id": uuid.uuid4().hex, **data}
        journal = self.journal
        if journal is not None:
            await self.journaling.call(lambda: journal.append_event(message["id"], kind, message), None)
        raw = msgspec.json.encode(message)
        await self.publishing.call(lambda: self.pubsub.publish(self.channel, raw), None)

    async def start(self, now: datetime | None = None) -> None:
        """Subscribe, and return once the subscription is live; journal polling starts from ``now``."""
        self._polled_until = now
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._listen(), name="automatos-kernel-bus")
            await self._ready.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._stopping = True
            await cancel_and_wait(self._task)
            self._task = None
            self._ready.clear()

    async def poll(self, now: datetime) -> int:
        """Handle journal messages this node has not seen yet; returns how many.

        A journal that cannot be read (the database is down) is a warning a minute, not one a
        poll; the next poll that reads it starts where the last good one ended, so nothing
        published meanwhile is skipped.
        """
        journal = self.journal
        if journal is None:
            return 0
        since = (self._polled_until or now) - self.overlap
        events = await self.reading.call(lambda: journal.events_since(since), None)
        if events is None:
            return 0
        handled = 0
        for event_id, message, _created in events:
            if self._first_time(event_id):
                await self._handle(message)
                handled += 1
        self._polled_until = now
        return handled

    def _first_time(self, event_id: str) -> bool:
        if event_id in self._seen:
            return False
        self._seen[event_id] = None
        if len(self._seen) > SEEN_LIMIT:
            self._seen.popitem(last=False)
        return True

    async def _listen(self) -> None:
        while not self._stopping:  # a cancel that a client turned into an error still ends it
            try:
                subscription: Any = self.pubsub.subscribe(self.channel)
                if hasattr(subscription, "__await__"):
                    subscription = await subscription
                self._ready.set()
                try:
                    async for raw in subscription:
                        await self._dispatch(raw)
                finally:
                    with contextlib.suppress(Exception):
                        await subscription.aclose()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a dropped connection: resubscribe after a pause
                self.listening.failed(exc)  # the journal carries messages meanwhile
                self._ready.set()
                await asyncio.sleep(0.5)

    async def _dispatch(self, raw: bytes) -> None:
        try:
            message = msgspec.json.decode(raw)
            if not isinstance(message, dict) or "kind" not in message:
                raise ValueError
        except Exception:
            log.warning("ignoring malformed kernel bus message")
            return
        event_id = message.get("id")
        if isinstance(event_id, str) and not self._first_time(event_id):
            return
        await self._handle(message)

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("kind")
        for handler in self._handlers.get(str(kind), ()):
            try:
                result = handler(message)
                if result is not None:
                    await result
            except Exception:
                log.exception("kernel bus handler for %s failed", kind)
