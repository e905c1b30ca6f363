"""What ``automatos serve`` asks of uvicorn: bounded request heads and timed-out idle connections.

Why: uvicorn bounds neither the size nor the number of request header fields with httptools (the
parser it picks when installed, as here); a 64 MB header was read whole (≈100 MB of memory, other
requests slowed to seconds). With h11 it has ``h11_max_incomplete_event_size`` but answers a plain
400. Neither bounds how long a client may take to send its headers. So :func:`uvicorn_options`
gives uvicorn one of two small subclasses of its own protocols, whichever parser it would have
used:

- a request line plus headers larger than ``HTTP_MAX_HEADER_BYTES`` or more than
  ``HTTP_MAX_HEADERS`` fields: ``431`` problem+json and the connection closed (counted on the raw
  bytes as they arrive, before the parser buffers them; at most one read of overshoot);
- a head not complete ``HTTP_HEADER_TIMEOUT_SECONDS`` after its first byte (or after the
  connection opened): ``408`` and closed (slow-header clients cannot hold connections);
- idle keep-alive connections close after ``HTTP_KEEP_ALIVE_SECONDS`` (uvicorn's own timer).

Slow bodies are bounded in the request middleware (:mod:`automatos.api.body`), where the app can
still answer 408 as problem+json. The counters cost an addition per read and one timer per
request head; nothing on the app's side.
"""

from __future__ import annotations

import abc
import asyncio
import functools
import importlib.util
from typing import TYPE_CHECKING, Any

import h11
import msgspec
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from automatos.api.problems import PROBLEM_JSON, TYPE_BASE

if TYPE_CHECKING:
    from uvicorn.config import Config
    from uvicorn.server import ServerState

    from automatos.kernel.settings import Settings

__all__ = ["BoundedH11Protocol", "BoundedHttpToolsProtocol", "http_protocol", "uvicorn_options"]

_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


class _HeadTooLargeError(Exception):
    """Raised from a parser callback to stop parsing a head with too many fields."""


def _refusal(status: int, slug: str, detail: str) -> bytes:
    body = msgspec.json.encode(
        {"type": TYPE_BASE + slug, "title": _REASONS[status].decode(), "status": status, "detail": detail}
    )
    head = b"HTTP/1.1 %d %s\r\ncontent-type: %s\r\ncontent-length: %d\r\nconnection: close\r\n\r\n" % (
        status,
        _REASONS[status],
        PROBLEM_JSON.encode(),
        len(body),
    )
    return head + body


class _HeadBounds(abc.ABC):
    """What both protocols share: the limits, the head timer, the refusals, and the hooks around
    uvicorn's own (a mixin placed before uvicorn's protocol, so ``super()`` reaches it)."""

    max_header_bytes: int
    max_headers: int
    header_timeout: float
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    _head_timer: asyncio.TimerHandle | None
    _refused: tuple[int, str, str] | None

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        max_header_bytes: int = 65536,
        max_headers: int = 100,
        header_timeout: float = 10.0,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)  # type: ignore[call-arg]
        self.max_header_bytes = max_header_bytes
        self.max_headers = max_headers
        self.header_timeout = header_timeout
        self._head_timer = None
        self._refused = None
        self._bound_parser()

    @abc.abstractmethod
    def _bound_parser(self) -> None:
        """Set up the parser-specific counting; each protocol says how."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)  # type: ignore[misc]

    def send_400_response(self, msg: str) -> None:
        if not self._send_refusal():
            super().send_400_response(msg)  # type: ignore[misc]

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing() and self._between_responses():
            limit = f"{self.header_timeout:g} s (HTTP_HEADER_TIMEOUT_SECONDS)"
            detail = f"the request headers did not arrive within {limit}"
            self.transport.write(_refusal(408, "request-timeout", detail))
        self.transport.close()

    def _between_responses(self) -> bool:
        cycle = getattr(self, "cycle", None)
        return cycle is None or bool(cycle.response_complete)

    def _too_large(self) -> None:
        self._refused = (
            431,
            "headers-too-large",
            f"the request line and headers exceed {self.max_header_bytes} bytes (HTTP_MAX_HEADER_BYTES)",
        )

    def _too_many(self) -> None:
        self._refused = (
            431,
            "headers-too-large",
            f"the request has more than {self.max_headers} header fields (HTTP_MAX_HEADERS)",
        )

    def _send_refusal(self) -> bool:
        """Answer the recorded refusal and close; False when there is none."""
        if self._refused is None:
            return False
        self._cancel_head_timer()
        if not self.transport.is_closing():
            self.transport.write(_refusal(*self._refused))
            self.transport.close()
        return True


class BoundedHttpToolsProtocol(_HeadBounds, HttpToolsProtocol):
    """uvicorn's httptools protocol with the head bounded in bytes, fields and time."""

    def _bound_parser(self) -> None:
        self._head_pending = True
        self._head_bytes = 0  # raw bytes read while the head is incomplete (what the parser buffers)
        self._head_size = 0  # the parsed head's size: a head read whole in one go is bounded too
        self._head_fields = 0

    def data_received(self, data: bytes) -> None:
        if self._head_pending:
            self._head_bytes += len(data)
        super().data_received(data)
        # still in the head after this read: every byte so far was head
        if self._head_pending and self._head_bytes > self.max_header_bytes and self._refused is None:
            self._too_large()
            self._send_refusal()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_pending = True
        self._head_fields = 0
        self._head_size = 0
        self._arm_head_timer()

    def on_url(self, url: bytes) -> None:
        self._head_size += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_fields += 1
        self._head_size += len(name) + len(value) + 4
        if self._head_fields > self.max_headers:
            self._too_many()
            raise _HeadTooLargeError  # httptools stops and reports a parser error: send_400_response
        if self._head_size > self.max_header_bytes:
            self._too_large()
            raise _HeadTooLargeError
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._head_pending = False
        self._head_bytes = 0
        self._cancel_head_timer()
        super().on_headers_complete()


class BoundedH11Protocol(_HeadBounds, H11Protocol):
    """uvicorn's h11 protocol: h11's own size bound answered as 431, plus field count and time bounds."""

    def _bound_parser(self) -> None:
        self.conn = h11.Connection(h11.SERVER, max_incomplete_event_size=self.max_header_bytes)
        next_event = self.conn.next_event

        def bounded_next_event() -> Any:
            try:
                event = next_event()
            except h11.RemoteProtocolError as exc:
                if exc.error_status_hint == 431:
                    self._too_large()
                raise
            if isinstance(event, h11.Request):
                self._cancel_head_timer()
                if len(event.headers) > self.max_headers:
                    self._too_many()
                    raise h11.RemoteProtocolError("too many header fields", error_status_hint=431)
                # h11 bounds only a head still incomplete; one read whole is measured here
                size = len(event.target) + sum(len(name) + len(value) + 4 for name, value in event.headers)
                if size > self.max_header_bytes:
                    self._too_large()
                    raise h11.RemoteProtocolError("request head too large", error_status_hint=431)
            return event

        self.conn.next_event = bounded_next_event  # type: ignore[method-assign]

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:  # bytes of a new request head: its clock starts
            self._arm_head_timer()
        super().data_received(data)


def http_protocol(settings: Settings, implementation: str = "auto") -> Any:
    """The protocol factory for uvicorn's ``http`` option: httptools when installed (as uvicorn's
    ``auto``), else h11; ``implementation`` forces one (``httptools`` or ``h11``)."""
    if implementation == "auto":
        implementation = "httptools" if importlib.util.find_spec("httptools") else "h11"
    base = {"httptools": BoundedHttpToolsProtocol, "h11": BoundedH11Protocol}[implementation]
    # a partial of a module-level class: picklable, so it survives uvicorn's worker processes
    return functools.partial(
        base,
        max_header_bytes=settings.http_max_header_bytes,
        max_headers=settings.http_max_headers,
        header_timeout=settings.http_header_timeout_seconds,
    )


def uvicorn_options(settings: Settings, implementation: str = "auto") -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run``/``uvicorn.Config`` that every server of the API uses."""
    return {
        "http": http_protocol(settings, implementation),
        "h11_max_incomplete_event_size": settings.http_max_header_bytes,
        "timeout_keep_alive": settings.http_keep_alive_seconds,
        # X-Forwarded-For is the app's to judge (TRUSTED_PROXIES); uvicorn's default would believe
        # any loopback peer and rewrite the client address before the rate limiter sees it
        "proxy_headers": False,
        "timeout_graceful_shutdown": 10,
    }
