"""Streaming chat: time to first SSE byte over HTTP, per-token cost of the SSE path, 100 concurrent chats.

Everything runs on the embedded default (SQLite file, in-process cache and pub/sub) with the offline
provider, whose answer is ``[offline] `` + the last user message, one delta per word. Every request
carries ``Authorization: Bearer atk_…``: an owner key made by the real service
(:func:`apps.fixture.prepare`), so the production authentication path is measured. The settings are
the benchmarks' (:data:`apps.fixture.SETTINGS`): the default rate limit (60/minute) would refuse
most of these requests, so it is raised so high that nothing is refused, every request still counted.

1. **Time to first SSE byte, over HTTP.** uvicorn (1 worker, uvloop + httptools, as ``automatos
   serve``) serves :func:`automatos.api.app.create_app` pinned to CPU 0 (``taskset -c 0``); this
   process, the client, pins itself to CPU 1. Sequential ``POST /api/chat`` with ``stream: true``
   into an existing session (``session_id`` set; the session holds more than ``chat.history_limit``
   messages before timing starts, so every request loads a full history), on one keep-alive
   connection, with a raw-socket HTTP/1.1 client (no client library in the timing): the clock starts
   before ``sendall`` and the first figure is taken when the first body chunk (the ``start`` event
   and the first ``delta``, one ASGI send) has been read, the second when the terminating chunk has.
   Side by side, interleaved (order reversed every round): the same with ``stream: false`` (total
   latency; its first byte is the whole JSON document) and a bare Litestar app, also under uvicorn on
   CPU 0, that parses the same JSON body and streams the same events (same count, same shapes)
   from a trivial generator, with no database and no provider. For information, also over HTTP:
   whole answers of 10 and 2,000 deltas (as in 2.), ours and bare, per token.
2. **Per-token cost of the SSE path, in process.** The real app is called directly
   (``await app(scope, receive, send)``, a ``receive`` that delivers the body and, once the
   response is complete, says the client has gone, as uvicorn does; a ``send`` that keeps the
   chunks). Two agents differ only in ``model_settings.max_tokens`` (10 and 2,000); each request
   opens a fresh session (no history) and sends the same 2,100-word message, so both sizes parse the
   same body and store the same user message, and the offline provider truncates the answer to
   exactly N deltas. Per token =
   (T(2000) - T(10)) / 1990, per round. Measured in the same rounds: the offline provider's own
   stream iterated directly (same messages, same options) — its per-token cost, which includes its
   ``await asyncio.sleep(0)`` per word, is subtracted for the **net** figure — and
   :meth:`Turn.stream` driven directly (chat service: provider + bookkeeping + the final write,
   without HTTP, SSE encoding or Litestar's ``Stream``), to split the net figure in two.
   Also, in process: time to the first body chunk into an existing session, split with
   ``perf_counter`` probes around the handler's steps.
3. **Concurrent streaming chats.** ``--concurrency`` clients (100) open their connections, then all
   send at once ``POST /api/chat`` (no ``session_id``: each opens its own session) with a 49-word
   message (a 50-word answer), for each ``--delays`` value set as the offline provider's per-word
   delay in the workspace (``PUT /api/workspaces/{id}/extensions/automatos.llm.offline``). Each must
   answer 201 with a ``start`` event, the full text in its deltas and a ``done`` event saying
   ``complete``; then the SQLite file is read: every assistant message ``complete`` with the full
   text, one ``llm_usage`` row per message. The server's stderr is searched for ``database is
   locked``. Errors, wall time, p50/p95 of per-chat durations.

``--profile`` adds a cProfile of in-process streaming requests (own time per package).

Run: .venv/bin/python bench/chat_stream.py [--requests 300] [--rounds 3] [--concurrency 100]
     [--delays 0,0.01] [--inproc-rounds 7] [--inproc-samples 3] [--profile] [--skip-http]
(~20 s on the 2-core machine; needs ``taskset``, the HTTP parts are skipped without it.)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import logging
import os
import pstats
import re
import shutil
import signal
import socket
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from apps import automatos_app, fixture
from common import fmt, header, median, percentile, quiet, table, verdict
from http_ab import Server
from inproc import ASGIApp, Lifespan
from litestar import Litestar, get, post
from litestar.response import Stream
from sqlalchemy.engine import make_url

from tests.services import free_port

GOAL_TTFB_MS = 10.0
GOAL_TOKEN_US = 50.0
SHORT, LONG = 10, 2000
"""The two answer sizes (deltas) of the per-token measurement."""
OFFLINE = "automatos.llm.offline"
LOCKED = "database is locked"

# --- the servers (uvicorn factories: ``--app-dir bench --factory chat_stream:…``) -------------------------

_TOKEN = re.compile(r"\s*\S+")


def server_app() -> Litestar:
    """The real app on the data directory named by ``AUTOMATOS_BENCH_DATA_DIR``, benchmark settings."""
    return automatos_app.create(fixture.data_dir_from_env(), **fixture.SETTINGS)


def _sse(name: bytes, data: Any) -> bytes:
    return b"event: " + name + b"\ndata: " + msgspec.json.encode(data) + b"\n\n"


def bare_app() -> Litestar:
    """The floor: parse the same body, stream the same events from a trivial generator."""

    @post("/api/chat")
    async def chat(data: dict[str, Any]) -> Stream:
        tokens = _TOKEN.findall("[offline] " + str(data["content"]).strip())
        ids = {
            "session_id": data.get("session_id") or "s" * 32,
            "user_message_id": "u" * 32,
            "message_id": "m" * 32,
            "agent_id": "a" * 32,
            "provider": "offline",
            "model": "offline-echo",
        }

        async def body() -> AsyncIterator[bytes]:
            yield _sse(b"start", ids) + _sse(b"delta", {"delta": tokens[0]})
            for token in tokens[1:]:
                yield _sse(b"delta", {"delta": token})
            yield _sse(
                b"done",
                {
                    "message_id": ids["message_id"],
                    "session_id": ids["session_id"],
                    "finish_reason": "stop",
                    "status": "complete",
                    "model": "offline-echo",
                    "usage": {"prompt_tokens": 12, "completion_tokens": len(tokens), "total_tokens": 0, "cost": 0.0},
                },
            )

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return Stream(body(), media_type="text/event-stream", headers=headers)

    @get("/health", sync_to_thread=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return Litestar([chat, health])


# --- a raw HTTP/1.1 client (blocking for the sequential timings, asyncio for the concurrent chats) ---------


@dataclass
class Reply:
    status: int
    body: bytes
    first: float
    """Seconds from just before sending to the first body chunk read (content-length: first byte)."""
    total: float
    """Seconds from just before sending to the end of the body."""


def _request_bytes(method: str, path: str, port: int, token: str, payload: Any = None, close: bool = False) -> bytes:
    body = b"" if payload is None else msgspec.json.encode(payload)
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        f"Authorization: Bearer {token}",
        "Accept: */*",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    ]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _parse_head(lines: list[bytes]) -> tuple[int, dict[bytes, bytes]]:
    status = int(lines[0].split(b" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


class Client:
    """One keep-alive connection, blocking socket, ``TCP_NODELAY``."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.token = token
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.file = self.sock.makefile("rb")

    def request(self, method: str, path: str, payload: Any = None) -> Reply:
        data = _request_bytes(method, path, self.port, self.token, payload)
        readline, read, clock = self.file.readline, self.file.read, time.perf_counter
        t0 = clock()
        self.sock.sendall(data)
        head = []
        while (line := readline()) not in (b"\r\n", b""):
            head.append(line.rstrip(b"\r\n"))
        status, headers = _parse_head(head)
        parts: list[bytes] = []
        first = 0.0
        if headers.get(b"transfer-encoding") == b"chunked":
            while True:
                size = int(readline().split(b";", 1)[0], 16)
                if size == 0:
                    readline()
                    break
                parts.append(read(size))
                readline()
                if not first:
                    first = clock() - t0
        else:
            length = int(headers.get(b"content-length", b"0"))
            if length:
                parts.append(read(1))
                first = clock() - t0
                parts.append(read(length - 1))
        total = clock() - t0
        return Reply(status, b"".join(parts), first or total, total)

    def json(self, method: str, path: str, payload: Any = None, expect: int = 200) -> Any:
        reply = self.request(method, path, payload)
        if reply.status != expect:
            raise RuntimeError(f"{method} {path}: {reply.status} {reply.body[:500]!r}")
        return json.loads(reply.body)

    def close(self) -> None:
        self.file.close()
        self.sock.close()


async def _achat(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: bytes) -> Reply:
    clock = time.perf_counter
    t0 = clock()
    writer.write(data)
    head = []
    while (line := await reader.readline()) not in (b"\r\n", b""):
        head.append(line.rstrip(b"\r\n"))
    if not head:
        raise ConnectionError("the server closed the connection without answering")
    status, headers = _parse_head(head)
    parts: list[bytes] = []
    first = 0.0
    if headers.get(b"transfer-encoding") == b"chunked":
        while True:
            size = int((await reader.readline()).split(b";", 1)[0], 16)
            if size == 0:
                await reader.readline()
                break
            parts.append(await reader.readexactly(size))
            await reader.readline()
            if not first:
                first = clock() - t0
    else:
        parts.append(await reader.readexactly(int(headers.get(b"content-length", b"0"))))
    total = clock() - t0
    return Reply(status, b"".join(parts), first or total, total)


def sse_events(body: bytes) -> list[tuple[str, Any]]:
    events = []
    for block in body.decode().strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def words(n: int, tag: str = "w") -> str:
    return " ".join(f"{tag}{i}" for i in range(n))


# --- part 2: in process -------------------------------------------------------------------------------------


class InProcess:
    """Requests to an ASGI app in this event loop, with the exchange a server would drive."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.headers = [
            (b"host", b"127.0.0.1:8000"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", b"application/json"),
            (b"accept", b"*/*"),
        ]
        self.on_send: Callable[[dict[str, Any]], None] | None = None

    async def request(self, method: str, path: str, payload: Any = None) -> tuple[int, bytes, float, float]:
        """Status, body, seconds to the first body chunk and to the end."""
        body = b"" if payload is None else msgspec.json.encode(payload)
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [*self.headers, (b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        delivered = False
        finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            # As uvicorn: once the response is complete, the next receive says the client is gone
            # (Litestar's Stream listens for that while it streams, and waits for it at the end).
            await finished
            return {"type": "http.disconnect"}

        status = 0
        parts: list[bytes] = []
        first = 0.0
        clock = time.perf_counter
        hook = self.on_send

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, first
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                if not message.get("more_body", False) and not finished.done():
                    finished.set_result(None)
                chunk = message.get("body", b"")
                if chunk:
                    parts.append(chunk)
                    if not first:
                        first = clock() - t0
                        if hook is not None:
                            hook(message)

        t0 = clock()
        try:
            await self.app(scope, receive, send)
        finally:
            finished.cancel()
        total = clock() - t0
        return status, b"".join(parts), first or total, total

    async def json(self, method: str, path: str, payload: Any = None, expect: int = 200) -> Any:
        status, body, _, _ = await self.request(method, path, payload)
        if status != expect:
            raise RuntimeError(f"{method} {path}: {status} {body[:500]!r}")
        return json.loads(body)


@dataclass
class InprocResults:
    rounds: int
    samples: int
    per_token: dict[str, list[float]] = field(default_factory=dict)
    """µs per token per round: ``asgi`` (gross), ``turn``, ``provider``."""
    times: dict[tuple[str, int], list[float]] = field(default_factory=dict)
    """(layer, N) → ms per round (median of the round's samples)."""
    ttfb_ms: list[float] = field(default_factory=list)
    total_ms: list[float] = field(default_factory=list)
    probes: dict[str, list[float]] = field(default_factory=dict)
    sql_shapes: list[str] = field(default_factory=list)
    profile: str = ""
    checked_bytes: dict[int, int] = field(default_factory=dict)


@contextlib.contextmanager
def probes(marks: dict[str, list[float]], engine: Any, shapes: list[str]) -> Iterator[Callable[[dict[str, Any]], None]]:
    """``perf_counter`` probes around the chat handler's steps (patched in this process only).

    Yields the hook to call at the first body chunk; each request's marks are appended to ``marks``
    as durations in ms between consecutive steps. SQL statements are timed around the DBAPI
    ``cursor.execute`` (the aiosqlite thread round trip, SQLite's own work included; commits are not
    statements and are not in that figure); ``shapes`` gets each request's statements by verb.
    """
    from sqlalchemy import event as sa_event

    from automatos.api.controllers import chat as controller
    from automatos.chat.service import ChatService
    from automatos.chat.turn import Turn

    clock = time.perf_counter
    current: dict[str, float] = {}
    originals = {
        "request_context": controller.request_context,
        "get_session": ChatService.get_session,
        "agent_of": ChatService.agent_of,
        "start_turn": ChatService.start_turn,
        "stream": Turn.stream,
    }

    def timed(name: str, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            current.setdefault(f"{name} start", clock())
            try:
                return await fn(*args, **kwargs)
            finally:
                current.setdefault(f"{name} end", clock())

        return wrapper

    async def stream(self: Turn) -> AsyncIterator[Any]:
        current["provider start"] = clock()
        async for event in originals["stream"](self):
            current.setdefault("first event", clock())
            yield event

    def first_chunk(_message: dict[str, Any]) -> None:
        current["first chunk"] = clock()

    statements: list[tuple[float, float, str]] = []
    started: list[float] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        started.append(clock())

    def after(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append((started.pop(), clock(), statement.split(None, 1)[0].upper()))

    sa_event.listen(engine.sync_engine, "before_cursor_execute", before)
    sa_event.listen(engine.sync_engine, "after_cursor_execute", after)

    controller.request_context = timed("request_context", originals["request_context"])  # type: ignore[assignment]
    ChatService.get_session = timed("get_session", originals["get_session"])  # type: ignore[method-assign]
    ChatService.agent_of = timed("agent_of", originals["agent_of"])  # type: ignore[method-assign]
    ChatService.start_turn = timed("start_turn", originals["start_turn"])  # type: ignore[method-assign]
    Turn.stream = stream  # type: ignore[method-assign,assignment]
    steps = [
        ("request start", "request_context start", "middleware, auth, routing, body parsing"),
        ("request_context start", "request_context end", "request_context (kernel, ctx)"),
        ("request_context end", "get_session start", "scoped()"),
        ("get_session start", "get_session end", "get_session (DB read)"),
        ("agent_of start", "agent_of end", "agent_of (DB read)"),
        ("start_turn start", "start_turn end", "start_turn (settings, history, 2 inserts, commit)"),
        ("provider start", "first event", "provider start → first event"),
        ("first event", "first chunk", "start event → first ASGI body send"),
    ]

    def record(t0: float) -> None:
        current["request start"] = t0
        for a, b, label in steps:
            if a in current and b in current:
                marks.setdefault(label, []).append((current[b] - current[a]) * 1000)
        if "first chunk" in current:
            first = current["first chunk"]
            marks.setdefault("= time to first chunk", []).append((first - t0) * 1000)
            early = [s for s in statements if s[1] <= first]
            late = [s for s in statements if s[1] > first]
            marks.setdefault("(of which inside cursor.execute, SQL before the first chunk)", []).append(
                sum(b - a for a, b, _ in early) * 1000
            )
            shapes.append(
                f"before the first chunk: {len(early)} statements ({_verbs(early)}); "
                f"after the last event: {len(late)} ({_verbs(late)})"
            )
        current.clear()
        statements.clear()

    first_chunk.record = record  # type: ignore[attr-defined]
    try:
        yield first_chunk
    finally:
        sa_event.remove(engine.sync_engine, "before_cursor_execute", before)
        sa_event.remove(engine.sync_engine, "after_cursor_execute", after)
        controller.request_context = originals["request_context"]  # type: ignore[assignment]
        ChatService.get_session = originals["get_session"]  # type: ignore[method-assign]
        ChatService.agent_of = originals["agent_of"]  # type: ignore[method-assign]
        ChatService.start_turn = originals["start_turn"]  # type: ignore[method-assign]
        Turn.stream = originals["stream"]  # type: ignore[method-assign]


def _verbs(statements: Sequence[tuple[float, float, str]]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for _, _, verb in statements:
        counts[verb] += 1
    return ", ".join(f"{verb} {n}" for verb, n in sorted(counts.items()))


def package(filename: str) -> str:
    for marker, name in (
        ("/automatos/", "automatos"),
        ("/litestar/", "litestar"),
        ("/sqlalchemy/", "sqlalchemy"),
        ("/aiosqlite/", "aiosqlite"),
        ("/msgspec/", "msgspec"),
        ("/anyio/", "anyio"),
        ("/pluggy/", "pluggy"),
        ("/limits/", "limits"),
        ("/asyncio/", "asyncio"),
        ("/bench/", "bench harness"),
    ):
        if marker in filename:
            return name
    if "select" in filename or filename == "~":
        return "builtins (incl. waiting in select)"
    return "other (stdlib)"


def profile_text(profiler: cProfile.Profile, n: int, top: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    own: dict[str, float] = defaultdict(float)
    total = 0.0
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        own[package(filename)] += tottime
        total += tottime
    lines = [f"own time per package, {n:,} requests (main thread only; aiosqlite runs SQLite in its own thread):"]
    for name, seconds in sorted(own.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {name:36s} {seconds / n * 1e3:8.3f} ms/request  {seconds / total:6.1%}")
    stats.strip_dirs().sort_stats("tottime").print_stats(top)
    return "\n".join(lines) + "\n\n" + out.getvalue().strip()


async def part_inproc(data_dir: Path, rounds: int, samples: int, profile: bool) -> InprocResults:
    fx = await fixture.prepare(data_dir)
    app = automatos_app.create(data_dir, **fixture.SETTINGS)
    quiet()
    res = InprocResults(rounds, samples)
    async with Lifespan(app):
        quiet()
        client = InProcess(app, fx.key)
        for n in (SHORT, LONG):
            await client.json(
                "POST", "/api/agents", {"name": f"N{n}", "slug": f"n{n}", "model_settings": {"max_tokens": n}}, 201
            )
        await client.json("POST", "/api/agents", {"name": "Seq", "slug": "seq"}, 201)
        content = words(LONG + 100)
        expected = {n: "".join(_TOKEN.findall("[offline] " + content)[:n]) for n in (SHORT, LONG)}

        async def asgi(n: int) -> float:
            status, body, _, total = await client.request("POST", "/api/chat", {"agent": f"n{n}", "content": content})
            events = sse_events(body) if status == 201 else []
            text = "".join(d["delta"] for e, d in events if e == "delta")
            if status != 201 or events[-1][0] != "done" or text != expected[n]:
                raise RuntimeError(f"in process, N={n}: {status} {body[:300]!r}")
            res.checked_bytes[n] = len(body)
            return total

        kernel = app.state["kernel"]
        service = app.state["container"].chat()
        workspace = await kernel.directory.workspace(fx.workspace_id)
        turns_made: list[Any] = []

        async def turn(n: int) -> float:
            session = await service.create_session(workspace.id, f"n{n}", "", actor_id=None)
            t0 = time.perf_counter()
            made = await service.start_turn(workspace, session.id, content, actor_id=None, request_id=None)
            count = 0
            async for event in made.stream():
                count += bool(event.delta)
            elapsed = time.perf_counter() - t0
            if count != n or made.result is None or made.result.status != "complete":
                raise RuntimeError(f"Turn.stream, N={n}: {count} deltas, {made.result}")
            if not turns_made:
                turns_made.append(made)
            return elapsed

        await turn(SHORT)
        model_turn = turns_made[0]

        async def provider(n: int) -> float:
            options = {**model_turn.options, "max_tokens": n}
            t0 = time.perf_counter()
            count = 0
            async for event in model_turn.provider.stream(model_turn.messages, model=model_turn.model, **options):
                count += bool(event.delta)
            elapsed = time.perf_counter() - t0
            if count != n:
                raise RuntimeError(f"provider, N={n}: {count} deltas")
            return elapsed

        layers: dict[str, Callable[[int], Awaitable[float]]] = {"asgi": asgi, "turn": turn, "provider": provider}
        for fn in layers.values():  # warm up
            for n in (SHORT, LONG):
                await fn(n)
        for r in range(rounds):
            got: dict[tuple[str, int], list[float]] = defaultdict(list)
            order = [(name, n) for name in layers for n in (SHORT, LONG)]
            for _ in range(samples):
                for name, n in order if r % 2 == 0 else order[::-1]:
                    got[(name, n)].append(await layers[name](n))
            for key, values in got.items():
                res.times.setdefault(key, []).append(median(values) * 1000)
            for name in layers:
                per = (median(got[(name, LONG)]) - median(got[(name, SHORT)])) / (LONG - SHORT) * 1e6
                res.per_token.setdefault(name, []).append(per)
            print(
                f"  in process round {r + 1}: µs/token gross {res.per_token['asgi'][-1]:.2f}, "
                f"Turn.stream {res.per_token['turn'][-1]:.2f}, provider {res.per_token['provider'][-1]:.2f}",
                flush=True,
            )

        # Time to the first chunk in process, into an existing session with a full history.
        session = await client.json("POST", "/api/chat/sessions", {"agent": "seq"}, 201)
        seq = {"agent": "seq", "content": words(SHORT - 1), "session_id": session["id"]}
        for _ in range(40):
            await client.request("POST", "/api/chat", seq)
        for _ in range(100):
            status, _, first, total = await client.request("POST", "/api/chat", seq)
            if status != 201:
                raise RuntimeError(f"in process, sequential: {status}")
            res.ttfb_ms.append(first * 1000)
            res.total_ms.append(total * 1000)
        with probes(res.probes, kernel.engine, res.sql_shapes) as hook:
            client.on_send = hook
            for _ in range(100):
                t0 = time.perf_counter()
                await client.request("POST", "/api/chat", seq)
                hook.record(t0)  # type: ignore[attr-defined]
            client.on_send = None
        if profile:
            n = 300
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(n):
                await client.request("POST", "/api/chat", seq)
            profiler.disable()
            res.profile = profile_text(profiler, n, 40)
    return res


# --- parts 1 and 3: over HTTP -------------------------------------------------------------------------------


@dataclass
class Sequential:
    ttfb: dict[str, list[float]] = field(default_factory=dict)
    """target → ms of every timed request."""
    total: dict[str, list[float]] = field(default_factory=dict)
    round_ttfb: dict[str, list[float]] = field(default_factory=dict)
    """target → median ms per round."""
    round_total: dict[str, list[float]] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)
    per_token: dict[str, list[float]] = field(default_factory=dict)
    """``ours`` / ``bare`` → µs per token per round, over HTTP."""
    token_times: dict[tuple[str, int], list[float]] = field(default_factory=dict)


def http_tokens(ours: Client, bare: Client, res: Sequential, rounds: int, samples: int = 5) -> None:
    """Over HTTP, for information: (T(2000) - T(10)) / 1990 of whole streamed answers, ours and bare."""
    content = words(LONG + 100)
    tokens = _TOKEN.findall("[offline] " + content)
    expected = {n: "".join(tokens[:n]) for n in (SHORT, LONG)}
    payloads = {("ours", n): (ours, {"agent": f"n{n}", "content": content}) for n in (SHORT, LONG)} | {
        ("bare", n): (bare, {"agent": "x", "content": words(n - 1)}) for n in (SHORT, LONG)
    }

    def one(key: tuple[str, int]) -> float:
        client, payload = payloads[key]
        reply = client.request("POST", "/api/chat", payload)
        events = sse_events(reply.body) if reply.status == 201 else []
        text = "".join(d["delta"] for e, d in events if e == "delta")
        if reply.status != 201 or events[-1][0] != "done" or (key[0] == "ours" and text != expected[key[1]]):
            raise RuntimeError(f"{key}: {reply.status} {reply.body[:300]!r}")
        return reply.total

    order = list(payloads)
    for key in order:
        one(key)
    for r in range(rounds):
        got: dict[tuple[str, int], list[float]] = defaultdict(list)
        for _ in range(samples):
            for key in order if r % 2 == 0 else order[::-1]:
                got[key].append(one(key))
        for key, values in got.items():
            res.token_times.setdefault(key, []).append(median(values) * 1000)
        for name in ("ours", "bare"):
            per = (median(got[(name, LONG)]) - median(got[(name, SHORT)])) / (LONG - SHORT) * 1e6
            res.per_token.setdefault(name, []).append(per)
        print(
            f"  HTTP round {r + 1}: µs/token ours {res.per_token['ours'][-1]:.2f}, "
            f"bare {res.per_token['bare'][-1]:.2f}",
            flush=True,
        )


@dataclass
class Concurrent:
    delay: float
    clients: int
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    durations_ms: list[float] = field(default_factory=list)
    ttfb_ms: list[float] = field(default_factory=list)
    db_complete: int = 0
    db_text_ok: int = 0
    db_usage: int = 0
    locked_lines: list[str] = field(default_factory=list)


def part_sequential(ours: Client, bare: Client, session_id: str, requests: int, rounds: int) -> Sequential:
    content = words(SHORT - 1)  # "[offline] w0 … w8": SHORT deltas
    expected = "".join(_TOKEN.findall("[offline] " + content))
    payloads = {
        "ours, stream: true": (ours, {"agent": "seq", "content": content, "session_id": session_id}),
        "ours, stream: false": (ours, {"agent": "seq", "content": content, "session_id": session_id, "stream": False}),
        "bare Litestar SSE": (bare, {"agent": "seq", "content": content, "session_id": session_id}),
    }
    res = Sequential()

    def one(name: str) -> Reply:
        client, payload = payloads[name]
        reply = client.request("POST", "/api/chat", payload)
        if reply.status != 201:
            raise RuntimeError(f"{name}: {reply.status} {reply.body[:500]!r}")
        if payload.get("stream", True):
            events = sse_events(reply.body)
            text = "".join(d["delta"] for e, d in events if e == "delta")
            if events[0][0] != "start" or events[-1][0] != "done" or text != expected:
                raise RuntimeError(f"{name}: unexpected stream {reply.body[:500]!r}")
            res.events[name] = len(events)
        elif json.loads(reply.body)["message"]["content"] != expected:
            raise RuntimeError(f"{name}: unexpected answer {reply.body[:500]!r}")
        return reply

    names = list(payloads)
    for name in names:  # warm up; fills the session's history past chat.history_limit (50 messages)
        for _ in range(30):
            one(name)
    per_round = max(1, requests // rounds)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            ttfb, total = [], []
            for _ in range(per_round):
                reply = one(name)
                ttfb.append(reply.first * 1000)
                total.append(reply.total * 1000)
            res.ttfb.setdefault(name, []).extend(ttfb)
            res.total.setdefault(name, []).extend(total)
            res.round_ttfb.setdefault(name, []).append(median(ttfb))
            res.round_total.setdefault(name, []).append(median(total))
            print(
                f"  round {r + 1} {name:20s} first chunk p50 {median(ttfb):7.2f} ms"
                f"   total p50 {median(total):7.2f} ms",
                flush=True,
            )
    return res


async def part_concurrent(port: int, token: str, clients: int, delay: float, db: Path, server: Server) -> Concurrent:
    res = Concurrent(delay, clients)
    answer_words = 50
    contents = [words(answer_words - 1, f"c{i}x") for i in range(clients)]
    expected = ["".join(_TOKEN.findall("[offline] " + c)) for c in contents]
    locked_before = server.stderr(10_000_000).count(LOCKED)
    message_ids: dict[int, str] = {}

    async def connect() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return reader, writer

    conns = await asyncio.gather(*(connect() for _ in range(clients)), return_exceptions=True)
    go = asyncio.Event()

    async def chat(i: int) -> None:
        conn = conns[i]
        if isinstance(conn, BaseException):
            res.errors.append(f"client {i}: connect: {conn!r}")
            return
        reader, writer = conn
        data = _request_bytes("POST", "/api/chat", port, token, {"agent": "conc", "content": contents[i]}, close=True)
        await go.wait()
        try:
            reply = await _achat(reader, writer, data)
        except Exception as exc:  # every failure is a finding, reported
            res.errors.append(f"client {i}: {exc!r}")
            return
        finally:
            writer.close()
        if reply.status != 201:
            res.errors.append(f"client {i}: status {reply.status}: {reply.body[:300].decode(errors='replace')}")
            return
        try:
            events = sse_events(reply.body)
        except Exception as exc:
            res.errors.append(f"client {i}: unreadable stream {exc!r}: {reply.body[:300]!r}")
            return
        if events and events[0][0] == "start":
            message_ids[i] = events[0][1]["message_id"]
        text = "".join(d["delta"] for e, d in events if e == "delta")
        last = events[-1] if events else ("", {})
        if events[0][0] != "start" or last[0] != "done" or last[1].get("status") != "complete":
            res.errors.append(f"client {i}: events {[e for e, _ in events][-3:]}, last {json.dumps(last[1])[:300]}")
            return
        if text != expected[i]:
            res.errors.append(f"client {i}: text of {len(text)} chars, expected {len(expected[i])}")
            return
        res.durations_ms.append(reply.total * 1000)
        res.ttfb_ms.append(reply.first * 1000)

    tasks = [asyncio.create_task(chat(i)) for i in range(clients)]
    await asyncio.sleep(0.05)
    t0 = time.perf_counter()
    go.set()
    await asyncio.gather(*tasks)
    res.wall_s = time.perf_counter() - t0

    await asyncio.sleep(0.3)  # the last turns' final write happens after their last event was sent
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        ids = list(message_ids.values())
        marks = ",".join("?" * len(ids))
        rows = conn.execute(f"SELECT id, status, content FROM chat_messages WHERE id IN ({marks})", ids).fetchall()
        by_id = {row[0]: row for row in rows}
        for i, mid in message_ids.items():
            row = by_id.get(mid)
            if row is not None and row[1] == "complete":
                res.db_complete += 1
                res.db_text_ok += row[2] == expected[i]
        res.db_usage = conn.execute(
            f"SELECT count(*) FROM llm_usage WHERE message_id IN ({marks}) AND status = 'complete'", ids
        ).fetchone()[0]
    log = server.stderr(10_000_000)
    if log.count(LOCKED) > locked_before:
        res.locked_lines = [line for line in log.splitlines() if LOCKED in line][-3:]
    return res


def setup_server(client: Client) -> str:
    """The agents the HTTP parts use, and the session of the sequential part."""
    client.json("POST", "/api/agents", {"name": "Seq", "slug": "seq"}, 201)
    client.json("POST", "/api/agents", {"name": "Conc", "slug": "conc"}, 201)
    for n in (SHORT, LONG):
        client.json("POST", "/api/agents", {"name": f"N{n}", "slug": f"n{n}", "model_settings": {"max_tokens": n}}, 201)
    return str(client.json("POST", "/api/chat/sessions", {"agent": "seq"}, 201)["id"])


def set_delay(client: Client, workspace_id: str, delay: float) -> None:
    client.json(
        "PUT", f"/api/workspaces/{workspace_id}/extensions/{OFFLINE}", {"enabled": True, "config": {"delay": delay}}
    )


# --- output -------------------------------------------------------------------------------------------------


def p(values: Sequence[float], q: float) -> str:
    return fmt(percentile(values, q))


def report(args: argparse.Namespace, inproc: InprocResults, seq: Sequential | None, conc: list[Concurrent]) -> None:
    goals: list[list[str]] = []
    if seq is not None:
        print(
            f"## 1. Over HTTP: sequential POST /api/chat, {args.rounds} rounds x "
            f"{max(1, args.requests // args.rounds)} requests per target, interleaved, order reversed every round"
        )
        print(
            "uvicorn (1 worker, uvloop, httptools) on CPU 0, this client on CPU 1, one keep-alive connection each; "
            f"answers of {SHORT} words ({seq.events.get('ours, stream: true', 0)} SSE events; bare "
            f"{seq.events.get('bare Litestar SSE', 0)}); 'first chunk' = the "
            "`start` event + first `delta` read (for JSON: first body byte)."
        )
        print()
        rows = []
        for name in seq.ttfb:
            t, tot = seq.ttfb[name], seq.total[name]
            rows.append(
                [
                    name,
                    str(len(t)),
                    fmt(median(t)),
                    p(t, 95),
                    p(t, 99),
                    fmt(median(tot)),
                    p(tot, 95),
                    p(tot, 99),
                ]
            )
        table(["target", "n", "first chunk p50 ms", "p95", "p99", "total p50 ms", "total p95", "total p99"], rows)
        ours, bare = seq.round_ttfb["ours, stream: true"], seq.round_ttfb["bare Litestar SSE"]
        js = seq.round_total["ours, stream: false"]
        ours_total = seq.round_total["ours, stream: true"]
        ratio = [o / b for o, b in zip(ours, bare, strict=True)]
        ratio_js = [o / j for o, j in zip(ours, js, strict=True)]
        ratio_tot = [o / j for o, j in zip(ours_total, js, strict=True)]
        table(
            ["paired, per round (medians)", *(f"round {i + 1}" for i in range(len(ours))), "median"],
            [
                ["first chunk: ours SSE / bare SSE", *(fmt(x, 2) for x in ratio), fmt(median(ratio), 2)],
                [
                    "first chunk ours SSE - bare SSE, ms",
                    *(fmt(o - b) for o, b in zip(ours, bare, strict=True)),
                    fmt(median([o - b for o, b in zip(ours, bare, strict=True)])),
                ],
                ["ours SSE first chunk / ours JSON total", *(fmt(x, 2) for x in ratio_js), fmt(median(ratio_js), 2)],
                ["ours SSE total / ours JSON total", *(fmt(x, 2) for x in ratio_tot), fmt(median(ratio_tot), 2)],
            ],
        )
        if seq.per_token:
            print(
                f"Over HTTP, for information: whole streamed answers of {SHORT} and {LONG} deltas, fresh session each "
                "(ours: the same 2,100-word request truncated by max_tokens; bare: a message of N-1 words); "
                "per token = (T(2000) - T(10)) / 1990, includes uvicorn's chunked write and the client's read."
            )
            print()
            table(
                ["over HTTP", f"T({SHORT}) ms", f"T({LONG}) ms",
                 *(f"r{i + 1} µs/tok" for i in range(len(seq.per_token["ours"]))), "median µs/token"],
                [[name, fmt(median(seq.token_times[(name, SHORT)])), fmt(median(seq.token_times[(name, LONG)])),
                  *(fmt(x) for x in seq.per_token[name]), fmt(median(seq.per_token[name]))]
                 for name in ("ours", "bare")],
            )  # fmt: skip
        ttfb = median(seq.ttfb["ours, stream: true"])
        goals.append(
            ["time to first SSE chunk, HTTP, median (p95 / p99)",
             f"{ttfb:.2f} ms ({p(seq.ttfb['ours, stream: true'], 95)} / {p(seq.ttfb['ours, stream: true'], 99)})",
             f"< {GOAL_TTFB_MS:g} ms", verdict(ttfb < GOAL_TTFB_MS)]
        )  # fmt: skip

    print(
        f"## 2. In process: per-token cost, answers of {SHORT} vs {LONG} deltas, {inproc.rounds} rounds x "
        f"{inproc.samples} samples per layer and size, interleaved, order reversed every round"
    )
    print(
        f"Same 2,100-word request for both sizes (max_tokens {SHORT} / {LONG}), a fresh session each; "
        f"SSE body {inproc.checked_bytes.get(SHORT, 0):,} / {inproc.checked_bytes.get(LONG, 0):,} bytes."
    )
    print()
    names = {
        "asgi": "full app (ASGI, SSE)",
        "turn": "Turn.stream direct (chat service)",
        "provider": "offline provider's stream direct",
    }
    rows = []
    for key, label in names.items():
        rows.append(
            [
                label,
                fmt(median(inproc.times[(key, SHORT)]), 3),
                fmt(median(inproc.times[(key, LONG)]), 3),
                *(fmt(x) for x in inproc.per_token[key]),
                fmt(median(inproc.per_token[key])),
            ]
        )
    table(
        ["layer", f"T({SHORT}) ms", f"T({LONG}) ms", *(f"r{i + 1} µs/tok" for i in range(inproc.rounds)),
         "median µs/token"],
        rows,
    )  # fmt: skip
    gross = inproc.per_token["asgi"]
    net = [a - pr for a, pr in zip(gross, inproc.per_token["provider"], strict=True)]
    sse_only = [a - t for a, t in zip(gross, inproc.per_token["turn"], strict=True)]
    turn_net = [t - pr for t, pr in zip(inproc.per_token["turn"], inproc.per_token["provider"], strict=True)]
    table(
        ["per token, paired per round", *(f"round {i + 1}" for i in range(inproc.rounds)), "median µs"],
        [
            ["gross (full app)", *(fmt(x) for x in gross), fmt(median(gross))],
            ["net = gross - provider", *(fmt(x) for x in net), fmt(median(net))],
            ["  of which chat service (Turn.stream - provider)", *(fmt(x) for x in turn_net), fmt(median(turn_net))],
            ["  of which SSE + Litestar Stream + ASGI (gross - Turn)", *(fmt(x) for x in sse_only),
             fmt(median(sse_only))],
        ],
    )  # fmt: skip
    goals.append(["per-token cost of our SSE path, in process, gross", f"{median(gross):.2f} µs", "—", "—"])
    goals.append(
        ["per-token cost of our SSE path, in process, net of the provider", f"{median(net):.2f} µs",
         f"< {GOAL_TOKEN_US:g} µs", verdict(median(net) < GOAL_TOKEN_US)]
    )  # fmt: skip
    print(
        f"In process, {len(inproc.ttfb_ms)} sequential stream requests into a session with a full history: first "
        f"chunk p50 {fmt(median(inproc.ttfb_ms))} ms (p95 {p(inproc.ttfb_ms, 95)}), whole request p50 "
        f"{fmt(median(inproc.total_ms))} ms. Where the time to the first chunk goes (perf_counter probes, "
        f"{len(next(iter(inproc.probes.values()), []))} requests):"
    )
    print()
    table(
        ["step", "p50 ms", "p95 ms"],
        [[label, fmt(median(v), 3), p(v, 95)] for label, v in inproc.probes.items()],
    )
    if inproc.sql_shapes:
        common_shape = max(set(inproc.sql_shapes), key=inproc.sql_shapes.count)
        print(f"SQL per request ({inproc.sql_shapes.count(common_shape)} of {len(inproc.sql_shapes)}): {common_shape}")
        print()

    for c in conc:
        print(
            f"## 3. {c.clients} concurrent streaming chats over HTTP, 50-word answers, offline delay "
            f"{c.delay * 1000:g} ms/word"
        )
        print()
        d = c.durations_ms
        table(
            ["clients", "errors", "wall s", "chat p50 ms", "chat p95 ms", "chat max ms", "first chunk p50 ms",
             "first chunk p95 ms", "DB complete", "DB full text", "DB llm_usage", "'database is locked' in log"],
            [[str(c.clients), str(len(c.errors)), fmt(c.wall_s, 3), fmt(median(d)), p(d, 95), p(d, 100),
              fmt(median(c.ttfb_ms)), p(c.ttfb_ms, 95), str(c.db_complete), str(c.db_text_ok), str(c.db_usage),
              str(len(c.locked_lines))]],
        )  # fmt: skip
        for error in c.errors[:8]:
            print(f"  error: {error}")
        for line in c.locked_lines:
            print(f"  server log: {line[:400]}")
        ok = not c.errors and c.db_complete == c.db_usage == c.db_text_ok == c.clients
        goals.append(
            [f"concurrent chats: {c.clients}, delay {c.delay * 1000:g} ms/word: errors, DB complete/usage rows",
             f"{len(c.errors)} errors, {c.db_complete}/{c.db_usage}", f"0, {c.clients}/{c.clients}", verdict(ok)]
        )  # fmt: skip
    print("## Figures vs goals")
    table(["figure", "measured", "goal", "verdict"], goals)
    if inproc.profile:
        print(f"## cProfile of in-process stream requests ({SHORT}-word answers, full history)\n```")
        print(inproc.profile)
        print("```")


def pin(cpu: int) -> bool:
    if (os.cpu_count() or 1) < 2 or not hasattr(os, "sched_setaffinity"):
        return False
    os.sched_setaffinity(0, {cpu})
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="timed sequential requests per HTTP target")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the HTTP part")
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--delays", default="0,0.01", help="offline per-word delays (s) for the concurrent part")
    parser.add_argument("--inproc-rounds", type=int, default=7)
    parser.add_argument("--inproc-samples", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile of in-process stream requests")
    parser.add_argument("--skip-http", action="store_true", help="only the in-process part")
    args = parser.parse_args()
    header("bench/chat_stream.py: streaming chat — first SSE byte, per-token cost, concurrent chats")
    if shutil.which("taskset") is None and not args.skip_http:
        print("SKIPPED the HTTP parts: taskset not on PATH (Debian: util-linux).")
        args.skip_http = True
    pinned = pin(1)
    print(f"client pinned to CPU 1: {pinned}; server: `taskset -c 0`", flush=True)
    quiet()
    logging.disable(logging.INFO)  # kernel starts reset the loggers' levels: keep INFO lines out of the tables
    delays = [float(x) for x in args.delays.split(",") if x.strip()]
    # A SIGTERM (``timeout``, a CI runner) unwinds like Ctrl-C: servers stopped, the data directory removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    root = Path(tempfile.mkdtemp(prefix="automatos-bench-chat-"))
    servers: list[Server] = []
    try:
        inproc = asyncio.run(part_inproc(root / "inproc", args.inproc_rounds, args.inproc_samples, args.profile))
        seq = None
        conc: list[Concurrent] = []
        if not args.skip_http:
            data_dir = root / "http"
            fx = asyncio.run(fixture.prepare(data_dir))
            env = {fixture.ENV_DATA_DIR: str(data_dir)}
            ours_server = Server(["--factory", "chat_stream:server_app"], free_port(), env)
            bare_server = Server(["--factory", "chat_stream:bare_app"], free_port())
            servers += [ours_server, bare_server]
            ours_server.wait_ready()
            bare_server.wait_ready()
            ours = Client(ours_server.port, fx.key)
            bare = Client(bare_server.port, fx.key)
            try:
                session_id = setup_server(ours)
                seq = part_sequential(ours, bare, session_id, args.requests, args.rounds)
                http_tokens(ours, bare, seq, args.rounds)
                db = Path(make_url(fixture.settings(data_dir).resolved_database_url).database or "")
                for delay in delays:
                    set_delay(ours, fx.workspace_id, delay)
                    c = asyncio.run(part_concurrent(ours_server.port, fx.key, args.concurrency, delay, db, ours_server))
                    print(
                        f"  {c.clients} concurrent, delay {delay * 1000:g} ms/word: {len(c.errors)} errors, "
                        f"wall {c.wall_s:.2f} s, DB complete {c.db_complete}, usage rows {c.db_usage}",
                        flush=True,
                    )
                    conc.append(c)
            finally:
                ours.close()
                bare.close()
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
    print()
    report(args, inproc, seq, conc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
