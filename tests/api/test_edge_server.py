"""The HTTP server's bounds, over real sockets against uvicorn as ``automatos serve`` runs it.

Both HTTP parsers uvicorn may pick are served with :func:`automatos.api.server.uvicorn_options`:
oversized or over-numerous headers get 431 (or the connection closed), never a served request;
slow headers get 408/closed; idle keep-alive connections are closed; a body that stops arriving
gets 408. Every wait is bounded generously (a slow machine only makes it slower, never wrong).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from automatos.api.app import create_app
from automatos.api.server import uvicorn_options
from automatos.kernel.settings import load_settings
from tests.helpers import make_container, serve_http

IMPLEMENTATIONS = ["httptools", "h11"]
WAIT = 20.0
"""Upper bound for anything the server should do 'soon' (far above the test timeouts of 0.3 s)."""
EDGE = {
    "http_max_header_bytes": 16_384,
    "http_max_headers": 50,
    "http_header_timeout_seconds": 0.3,
    "http_keep_alive_seconds": 0.3,
    "http_body_timeout_seconds": 0.3,
}


@asynccontextmanager
async def served(tmp_path: Path, implementation: str, **settings: Any) -> AsyncIterator[int]:
    container = make_container(tmp_path, **{**EDGE, **settings})
    app = create_app(container)
    options = uvicorn_options(container.kernel().settings, implementation)
    async with serve_http(app, **options) as url:
        port = httpx.URL(url).port
        assert port is not None
        yield port


async def exchange(port: int, *parts: bytes) -> bytes:
    """Send ``parts`` (stopping quietly if the server hangs up), then read until the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for part in parts:
            try:
                writer.write(part)
                await writer.drain()
            except (ConnectionError, OSError):
                break
        received = b""
        try:
            async with asyncio.timeout(WAIT):
                while chunk := await reader.read(65536):
                    received += chunk
        except (ConnectionError, OSError):
            pass
        return received
    finally:
        writer.close()


def status_of(received: bytes) -> int | None:
    """The status of the first response, or None when the server closed without one."""
    if not received:
        return None
    return int(received.split(b" ", 2)[1])


async def health(port: int) -> int | None:
    return status_of(await exchange(port, b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"))


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
async def test_an_oversized_header_is_refused(tmp_path: Path, implementation: str) -> None:
    async with served(tmp_path, implementation) as port:
        huge = b"GET /health HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n"
        got = status_of(await exchange(port, huge))
        assert got in (431, None), got  # never a served request
        if implementation == "httptools":
            assert got == 431
        # many medium headers adding up beyond the size are refused too
        many = b"".join(b"X-H%d: %s\r\n" % (i, b"b" * 2000) for i in range(20))
        assert status_of(await exchange(port, b"GET /health HTTP/1.1\r\nHost: t\r\n" + many + b"\r\n")) in (431, None)
        assert await health(port) == 200  # and the server goes on serving


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
async def test_too_many_header_fields_are_431(tmp_path: Path, implementation: str) -> None:
    async with served(tmp_path, implementation) as port:
        fields = b"".join(b"X-H%d: v\r\n" % i for i in range(60))
        received = await exchange(port, b"GET /health HTTP/1.1\r\nHost: t\r\n" + fields + b"\r\n")
        assert status_of(received) == 431, received[:200]
        assert b"HTTP_MAX_HEADERS" in received and b"application/problem+json" in received
        fine = b"".join(b"X-H%d: v\r\n" % i for i in range(40))
        ok = await exchange(port, b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" + fine + b"\r\n")
        assert status_of(ok) == 200


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
async def test_slow_headers_are_cut_off(tmp_path: Path, implementation: str) -> None:
    async with served(tmp_path, implementation) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /health HTTP/1.1\r\nHost: t\r\n")  # and the rest never comes
        await writer.drain()
        async with asyncio.timeout(WAIT):
            received = await reader.read()  # until the server closes
        writer.close()
        assert status_of(received) in (408, None)
        if received:
            assert b"HTTP_HEADER_TIMEOUT_SECONDS" in received
        # a connection that never sends anything is closed too
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        async with asyncio.timeout(WAIT):
            assert status_of(await reader.read()) in (408, None)
        writer.close()


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
async def test_idle_keep_alive_connections_are_closed(tmp_path: Path, implementation: str) -> None:
    async with served(tmp_path, implementation) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        await writer.drain()
        async with asyncio.timeout(WAIT):
            received = await reader.read()  # the response, then the close once idle
        writer.close()
        assert status_of(received) == 200 and received.count(b"HTTP/1.1 ") == 1


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
async def test_a_slow_body_is_408_and_closed(tmp_path: Path, implementation: str) -> None:
    async with served(tmp_path, implementation) as port:
        head = (
            b"POST /api/workspaces HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"X-Test-User: root;admin\r\nContent-Length: 100\r\n\r\n"
        )
        received = await exchange(port, head + b'{"name": "a')  # 11 of the 100 bytes, then silence
        assert status_of(received) == 408, received[:300]
        assert b"HTTP_BODY_TIMEOUT_SECONDS" in received and b"connection: close" in received.lower()


def test_serve_hands_uvicorn_the_bounds() -> None:
    """``automatos serve`` and these tests build uvicorn's options from the same settings."""
    settings = load_settings(
        {"HTTP_MAX_HEADER_BYTES": "8192", "HTTP_MAX_HEADERS": "20", "HTTP_KEEP_ALIVE_SECONDS": "2.5"}
    )
    for implementation in IMPLEMENTATIONS:
        options = uvicorn_options(settings, implementation)
        protocol = options["http"]
        assert protocol.keywords["max_header_bytes"] == 8192 and protocol.keywords["max_headers"] == 20
        assert options["timeout_keep_alive"] == 2.5 and options["h11_max_incomplete_event_size"] == 8192
        assert options["proxy_headers"] is False
    from automatos import cli

    source = cli.serve.callback.__code__.co_names  # type: ignore[union-attr]
    assert "uvicorn_options" in source
