"""The kernel bus: small JSON messages that keep every node's caches in step.

One channel (``automatos:kernel``) on the configured pub/sub backend. Messages are
``{"kind": ..., ...}``; handlers are registered per kind. The in-process backend makes the embedded
default behave exactly like a cluster of one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from automatos.kernel.backends import PubSubBackend

__all__ = ["CHANNEL", "KernelBus"]

log = logging.getLogger("automatos.bus")
CHANNEL = "automatos:kernel"
Handler = Callable[[dict[str, Any]], Awaitable[None] | None]


class KernelBus:
    def __init__(self, pubsub: PubSubBackend, channel: str = CHANNEL) -> None:
        self.pubsub = pubsub
        self.channel = channel
        self._handlers: dict[str, list[Handler]] = {}
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    def on(self, kind: str, handler: Handler) -> None:
        self._handlers.setdefault(kind, []).append(handler)

    async def publish(self, kind: str, **data: Any) -> None:
        await self.pubsub.publish(self.channel, msgspec.json.encode({"kind": kind, **data}))

    async def start(self) -> None:
        """Subscribe, and return once the subscription is live."""
        if self._task is None:
            self._task = asyncio.create_task(self._listen(), name="automatos-kernel-bus")
            await self._ready.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
            self._ready.clear()

    async def _listen(self) -> None:
        while True:
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
                log.warning("kernel bus subscription lost (%s); resubscribing", exc)
                self._ready.set()
                await asyncio.sleep(0.5)

    async def _dispatch(self, raw: bytes) -> None:
        try:
            message = msgspec.json.decode(raw)
            kind = message["kind"]
        except Exception:
            log.warning("ignoring malformed kernel bus message")
            return
        for handler in self._handlers.get(kind, ()):
            try:
                result = handler(message)
                if result is not None:
                    await result
            except Exception:
                log.exception("kernel bus handler for %s failed", kind)
