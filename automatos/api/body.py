"""Request bodies at the edge: JSON nesting bounded, slow bodies timed out.

Why here and not in the decoder: msgspec (Litestar's JSON decoder) recurses once per level and
raises ``RecursionError`` for ~1,000 levels — about 2 KB of ``[[[[…`` — which no decoder option
bounds and which surfaced as a 500 on every JSON route, before any key was checked. So the request
middleware passes the app a ``receive`` that looks at each body chunk as it arrives
(:class:`BodyGuard`): a body nested deeper than ``JSON_MAX_DEPTH`` is refused with 400 before
msgspec sees it, and a client that stops sending in the middle of a body gets 408 after
``HTTP_BODY_TIMEOUT_SECONDS`` instead of holding a connection and a task.

Cost: nothing for requests without a body (the guard is not installed); for a body in one chunk
(the usual case) two ``bytes.count`` calls, since a body with at most ``JSON_MAX_DEPTH`` brackets
cannot be nested deeper; only bodies with more brackets are scanned exactly (regular expressions
skip strings in C, so brackets inside strings never count).
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any

from automatos.kernel.errors import AutomatosError

if TYPE_CHECKING:
    from litestar.types import Receive, ReceiveMessage

__all__ = ["BodyGuard", "BodyTimeoutError", "JsonDepth", "JsonTooDeepError", "decodes_json"]

_STRUCTURE = re.compile(rb'["\[\]{}]')
_REST_OF_STRING = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_OPEN = frozenset(b"[{")
_QUOTE = ord('"')


class JsonTooDeepError(AutomatosError):
    status_code = 400
    title = "Bad request"
    type_slug = "json-too-deep"


class BodyTimeoutError(AutomatosError):
    status_code = 408
    title = "Request timeout"
    type_slug = "request-timeout"


class JsonDepth:
    """Tracks the nesting depth of a JSON text fed in chunks; :meth:`feed` is False once too deep.

    Exact for valid JSON (strings and escapes are followed across chunk boundaries); for invalid
    JSON it may be wrong either way, which does not matter: the decoder refuses it anyway.
    """

    __slots__ = ("depth", "escaped", "in_string", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.depth = 0
        self.in_string = False
        self.escaped = False

    def feed(self, chunk: bytes, last: bool = False) -> bool:
        if last and not self.in_string and self.depth + chunk.count(b"[") + chunk.count(b"{") <= self.limit:
            return True  # cannot get deeper than that; no state needed after the last chunk
        pos = 0
        if self.in_string:
            pos = self._skip_string(chunk, 0)
            if pos < 0:
                return True
        search = _STRUCTURE.search
        depth, limit = self.depth, self.limit
        while (match := search(chunk, pos)) is not None:
            char = chunk[match.start()]
            pos = match.end()
            if char == _QUOTE:
                self.depth = depth
                pos = self._skip_string(chunk, pos)
                if pos < 0:
                    return True
            elif char in _OPEN:
                depth += 1
                if depth > limit:
                    self.depth = depth
                    return False
            else:
                depth -= 1
        self.depth = depth
        return True

    def _skip_string(self, chunk: bytes, pos: int) -> int:
        """Past the closing quote of the string ``pos`` is in, or -1 (and the state kept) if it goes on."""
        if self.escaped:
            if pos >= len(chunk):
                return -1
            pos += 1
            self.escaped = False
        match = _REST_OF_STRING.match(chunk, pos)
        if match is not None:
            self.in_string = False
            return match.end()
        self.in_string = True
        tail = chunk[pos:]
        self.escaped = (len(tail) - len(tail.rstrip(b"\\"))) % 2 == 1
        return -1


def decodes_json(route_handler: Any) -> bool:
    """Whether Litestar decodes this handler's request body as JSON (it declares a JSON ``data``)."""
    try:
        field = route_handler.parsed_fn_signature.parameters.get("data")
    except AttributeError:
        return False
    if field is None:
        return False
    media_type = getattr(field.kwarg_definition, "media_type", None)
    if media_type is not None and str(getattr(media_type, "value", media_type)) != "application/json":
        return False  # multipart or url-encoded forms
    try:
        return not field.is_subclass_of(bytes)
    except TypeError:
        return True


class BodyGuard:
    """A ``receive`` for the app: each wait for body bytes bounded, JSON nesting bounded.

    Once the body is complete the guard passes messages through untouched (a streaming response
    waits on ``receive`` for the client's disconnect for as long as it streams).
    """

    __slots__ = ("depth", "done", "receive", "timed_out", "timeout")

    def __init__(self, receive: Receive, timeout: float, max_depth: int | None) -> None:
        self.receive = receive
        self.timeout = timeout
        self.depth = JsonDepth(max_depth) if max_depth is not None else None
        self.done = False
        self.timed_out = False

    async def __call__(self) -> ReceiveMessage:
        if self.done:
            return await self.receive()
        try:
            async with asyncio.timeout(self.timeout):
                message = await self.receive()
        except TimeoutError:
            self.timed_out = self.done = True
            raise BodyTimeoutError(
                f"the request body did not arrive: nothing for {self.timeout:g} s (HTTP_BODY_TIMEOUT_SECONDS)",
                field="body",
            ) from None
        if message["type"] != "http.request":
            self.done = True
            return message
        more = message.get("more_body", False)
        if not more:
            self.done = True
        depth = self.depth
        if depth is not None:
            chunk = message.get("body", b"")
            if chunk and not depth.feed(chunk, last=not more):
                self.done = True
                raise JsonTooDeepError(
                    f"the JSON body is nested deeper than {depth.limit} levels (JSON_MAX_DEPTH)", field="body"
                )
        return message
