"""The backend families: small async abstract classes, one per kind of shared state.

Each family has built-in implementations registered by extensions (``register_blob_backends`` and
friends) under a short name; the kernel builds the one the settings name. The same contract suite in
``tests/contract`` runs every implementation.

Namespacing follows Litestar's stores: ``with_namespace("ws:abc")`` returns a view of the same
backend whose keys cannot collide with another namespace's, which is how per-workspace and
per-plugin state is kept apart.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import msgspec

from automatos.kernel.errors import ValidationError

if TYPE_CHECKING:
    from types import TracebackType

    from redis.asyncio import Redis
    from sqlalchemy.ext.asyncio import AsyncEngine

    from automatos.kernel.settings import Settings

__all__ = [
    "CHUNK_SIZE",
    "Backend",
    "BackendContext",
    "BlobBackend",
    "BlobInfo",
    "BlobStream",
    "ByteRange",
    "KVBackend",
    "PubSubBackend",
    "QueueBackend",
    "RangeNotSatisfiableError",
    "Subscription",
    "VectorBackend",
    "VectorMatch",
    "resolve_range",
]

CHUNK_SIZE: Final = 64 * 1024
"""Bytes per chunk of a streamed read: memory per download stays about this, whatever the blob's size."""

ByteRange = tuple[int | None, int | None]
"""An HTTP byte range ``bytes=first-last``: ``(first, last)`` inclusive, ``(first, None)`` from
``first`` to the end, ``(None, n)`` the last ``n`` bytes (a suffix)."""


@dataclass(frozen=True)
class BackendContext:
    """What a backend factory receives: ``factory(ctx) -> backend``."""

    settings: Settings
    engine: AsyncEngine | None = None
    """The kernel's database engine (vector backends keep their rows there)."""


class BlobInfo(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    size: int
    content_type: str | None = None


class RangeNotSatisfiableError(ValidationError):
    """A byte range that starts past the end of the blob (HTTP 416; ``size`` is the blob's size)."""

    status_code = 416
    title = "Range not satisfiable"
    type_slug = "range-not-satisfiable"

    def __init__(self, size: int) -> None:
        super().__init__(f"the requested range is outside the blob's {size} bytes", field="Range", extra={"size": size})
        self.size = size


def resolve_range(size: int, byte_range: ByteRange | None) -> tuple[int, int]:
    """``(start, length)`` of ``byte_range`` in a blob of ``size`` bytes, as HTTP reads it (RFC 9110 §14.1.2).

    A last position past the end is clipped; a suffix longer than the blob means all of it; a range
    that starts at or past the end (or any range of an empty blob) raises
    :class:`RangeNotSatisfiableError`.
    """
    if byte_range is None:
        return 0, size
    first, last = byte_range
    if first is None:
        if last is None or last <= 0 or size == 0:
            raise RangeNotSatisfiableError(size)
        length = min(last, size)
        return size - length, length
    if first < 0 or first >= size or (last is not None and last < first):
        raise RangeNotSatisfiableError(size)
    end = size - 1 if last is None else min(last, size - 1)
    return first, end - first + 1


class BlobStream:
    """An open read of one blob, or of a byte range of it: ``async for chunk in stream``, then ``aclose()``.

    ``info`` describes the whole blob (its full size and content type); ``start`` and ``length`` say
    which bytes iterating yields. Everything known before the first byte is sent — size, range, type
    — comes from the same open object, so the headers always match the body even if the key is
    replaced meanwhile. ``aclose`` releases the file or connection whether or not iteration started.
    """

    def __init__(
        self,
        info: BlobInfo,
        chunks: AsyncGenerator[bytes, None],
        *,
        start: int = 0,
        length: int | None = None,
        close: Callable[[], Any] | None = None,
    ) -> None:
        self.info = info
        self.start = start
        self.length = info.size - start if length is None else length
        self._chunks = chunks
        self._close = close

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks

    async def aclose(self) -> None:
        """Stop reading and release what the read holds; idempotent."""
        await self._chunks.aclose()
        close, self._close = self._close, None
        if close is not None:
            with contextlib.suppress(Exception):
                result = close()
                if hasattr(result, "__await__"):
                    await result

    async def __aenter__(self) -> BlobStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class Backend(abc.ABC):  # noqa: B024 - the lifecycle methods are optional on purpose
    """What every backend shares: a name and an optional lifecycle the kernel drives."""

    name: str = ""

    async def open(self) -> None:  # noqa: B027 - optional
        """Prepare at kernel start (create a bucket, warm a pool); raise to stop startup."""

    async def check(self) -> None:  # noqa: B027 - optional
        """Raise if the backend cannot serve requests (used by ``/health/ready``)."""

    async def close(self) -> None:  # noqa: B027 - optional
        """Release connections and pools (graceful shutdown)."""


class BlobBackend(Backend):
    """Object storage: plugin bundles, execution logs, documents."""

    @abc.abstractmethod
    async def put(self, key: str, data: bytes, *, content_type: str | None = None) -> BlobInfo:
        """Store ``data`` under ``key``, replacing what was there."""

    @abc.abstractmethod
    async def get(self, key: str) -> bytes | None:
        """The bytes under ``key``, or ``None`` when there are none (for small blobs; see :meth:`open_read`)."""

    async def open_read(
        self, key: str, *, byte_range: ByteRange | None = None, chunk_size: int = CHUNK_SIZE
    ) -> BlobStream | None:
        """Open ``key`` (or ``byte_range`` of it) for reading in chunks of at most ``chunk_size`` bytes.

        ``None`` when there is no such blob; :class:`RangeNotSatisfiableError` for a range outside it.
        What serves downloads: the built-in backends read from the file or the network as the
        client takes the bytes, so a download holds about one chunk in memory. This default, for
        backends that do not override it, reads the whole blob with :meth:`get` and slices it.
        """
        data = await self.get(key)
        if data is None:
            return None
        described = await self.info(key)
        start, length = resolve_range(len(data), byte_range)
        info = BlobInfo(key=key, size=len(data), content_type=described.content_type if described else None)

        async def chunks() -> AsyncGenerator[bytes, None]:
            view = memoryview(data)[start : start + length]
            for offset in range(0, length, chunk_size):
                yield bytes(view[offset : offset + chunk_size])

        return BlobStream(info, chunks(), start=start, length=length)

    @abc.abstractmethod
    async def delete(self, key: str) -> bool:
        """Remove ``key``; ``True`` if something was removed."""

    @abc.abstractmethod
    async def exists(self, key: str) -> bool: ...

    @abc.abstractmethod
    async def info(self, key: str) -> BlobInfo | None:
        """Size and content type of ``key``, or ``None`` when there is no such blob."""

    @abc.abstractmethod
    async def list(self, prefix: str = "", *, limit: int = 1000) -> list[BlobInfo]:
        """Keys starting with ``prefix``, sorted, at most ``limit``."""

    @abc.abstractmethod
    async def presigned_url(self, key: str, *, expires_in: int = 3600, method: str = "GET") -> str:
        """A URL that lets its bearer read (or, with ``method="PUT"``, write) ``key`` until it expires."""


class KVBackend(Backend):
    """Key-value cache with TTLs and atomic counters."""

    @abc.abstractmethod
    async def get(self, key: str) -> bytes | None: ...

    @abc.abstractmethod
    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        """Store ``value``; it expires after ``ttl`` seconds when given."""

    @abc.abstractmethod
    async def delete(self, key: str) -> bool: ...

    @abc.abstractmethod
    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        """Atomically add ``amount`` and return the new value; ``ttl`` applies when the key is created."""

    @abc.abstractmethod
    async def ttl(self, key: str) -> float | None:
        """Seconds left before ``key`` expires; ``None`` if it has no expiry or does not exist."""

    @abc.abstractmethod
    def with_namespace(self, namespace: str) -> KVBackend:
        """A view whose keys are prefixed with ``namespace`` and cannot reach other namespaces."""


class Subscription(abc.ABC):
    """An established subscription to one channel: iterate it for messages, ``aclose`` to end it.

    ``subscribe`` is awaited, so a subscription only exists once the backend has confirmed it (for
    Redis, once the server acknowledged ``SUBSCRIBE``): nothing published after that is missed.
    Usable as ``async with await pubsub.subscribe(ch) as sub: async for msg in sub: ...``.
    """

    channel: str = ""

    def __aiter__(self) -> Subscription:
        return self

    @abc.abstractmethod
    async def __anext__(self) -> bytes:
        """The next message; ``StopAsyncIteration`` once the subscription or its backend is closed."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """End the subscription; idempotent. A consumer waiting in ``__anext__`` stops iterating."""

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class PubSubBackend(Backend):
    """Fan-out messages to every subscriber on every node (cache invalidation, live progress)."""

    @abc.abstractmethod
    async def publish(self, channel: str, message: bytes) -> None: ...

    @abc.abstractmethod
    async def subscribe(self, channel: str) -> Subscription:
        """Subscribe to messages published on ``channel`` from now on.

        Returns once the subscription is established: a message published after ``subscribe``
        returns is delivered. ``aclose()`` on the subscription ends it. Delivery is at most once,
        in publish order per publisher; a subscriber that falls far behind loses its oldest messages.
        """


class QueueBackend(Backend):
    """The server the job queue (``automatos.jobs``) keeps its jobs on, shared by API nodes and workers.

    The job queue is SAQ over the Redis protocol (Redis, Valkey…), so a queue backend hands out
    clients of that protocol — how to reach the server (a URL, TLS, Sentinel, a managed service's
    credentials) is the implementation's business — plus the pub/sub and key-value stores *of the
    same server*: a job's status changes are published there, and the jobs a worker runs share
    state with the API nodes through it. Each call returns a new object that the caller owns and
    closes; the backend itself holds nothing open.
    """

    @abc.abstractmethod
    def client(self, *, socket_timeout: float, max_connections: int) -> Redis:
        """A ``redis.asyncio.Redis`` whose pool makes callers beyond ``max_connections`` wait for one."""

    @abc.abstractmethod
    def pubsub(self) -> PubSubBackend:
        """Pub/sub on the same server (what a caller waits on for its job's status)."""

    @abc.abstractmethod
    def kv(self) -> KVBackend:
        """The key-value store on the same server (what jobs on a worker share with the API nodes)."""


class VectorMatch(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    score: float
    """Cosine similarity, 1.0 for the same direction."""
    metadata: dict[str, Any] = {}


class VectorBackend(Backend):
    """A vector index, always partitioned by workspace."""

    @abc.abstractmethod
    async def upsert(
        self,
        workspace_id: str,
        collection: str,
        items: Sequence[tuple[str, Sequence[float], dict[str, Any]]],
    ) -> None:
        """Insert or replace ``(id, vector, metadata)`` items."""

    @abc.abstractmethod
    async def query(
        self, workspace_id: str, collection: str, vector: Sequence[float], *, top_k: int = 5
    ) -> list[VectorMatch]:
        """The ``top_k`` nearest items by cosine similarity, best first."""

    @abc.abstractmethod
    async def delete(self, workspace_id: str, collection: str, ids: Sequence[str]) -> int: ...

    @abc.abstractmethod
    async def count(self, workspace_id: str, collection: str) -> int: ...
