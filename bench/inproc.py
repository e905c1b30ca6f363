"""In-process ASGI cost of ``GET /health``: the real app vs bare Litestar, µs/request.

Each app is called directly, ``await app(scope, receive, send)``, in one event loop: no sockets, no
server, so the figure is the framework + app cost per request and is steady (about ±3%). The real
app's lifespan (kernel start: migrations, backends, startup hooks) runs first through an ASGI
lifespan exchange, exactly as a server would drive it; the bare app gets the same treatment.

Rows: a raw ASGI callable that answers the same bytes (the harness floor), bare Litestar, Automatos.
Goal: Automatos /health within 15% of bare, i.e. throughput ratio (bare µs / ours µs) >= 0.85.

Run: .venv/bin/python bench/inproc.py [--rounds N] [--requests N] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import time
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping, Sequence
from types import TracebackType
from typing import Any

from apps.automatos_app import create
from apps.bare import app as bare_app
from common import fmt, header, median, quiet, table, verdict

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Any, Any, Any], Coroutine[Any, Any, None]]

HEADERS: list[tuple[bytes, bytes]] = [
    (b"host", b"127.0.0.1:8000"),
    (b"user-agent", b"bench"),
    (b"accept", b"*/*"),
]
BASE_SCOPE: dict[str, Any] = {
    "type": "http",
    "asgi": {"version": "3.0", "spec_version": "2.3"},
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "path": "/health",
    "raw_path": b"/health",
    "root_path": "",
    "query_string": b"",
    "headers": HEADERS,
    "client": ("127.0.0.1", 50000),
    "server": ("127.0.0.1", 8000),
}
REQUEST: Message = {"type": "http.request", "body": b"", "more_body": False}


def authed_scope(path: str, key: str) -> dict[str, Any]:
    """:data:`BASE_SCOPE` for a GET of ``path`` with ``Authorization: Bearer <key>`` (an API key)."""
    headers = [(b"authorization", f"Bearer {key}".encode()), *HEADERS]
    return dict(BASE_SCOPE, path=path, raw_path=path.encode(), headers=headers)


EXPECTED_BODY = b'{"status":"ok"}'


class Lifespan:
    """Drive an ASGI app's lifespan protocol: startup on enter, shutdown on exit."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._events: dict[str, asyncio.Future[str | None]] = {}
        self._task: asyncio.Task[None] | None = None

    async def _receive(self) -> Message:
        return await self._inbox.get()

    async def _send(self, message: Message) -> None:
        kind = str(message["type"])  # lifespan.startup.complete / .failed, lifespan.shutdown.*
        phase = kind.rsplit(".", 1)[0]
        future = self._events.get(phase)
        if future is not None and not future.done():
            future.set_result(message.get("message", "failed") if kind.endswith(".failed") else None)

    async def _phase(self, phase: str) -> None:
        loop = asyncio.get_running_loop()
        self._events[phase] = future = loop.create_future()
        await self._inbox.put({"type": phase})
        assert self._task is not None
        done, _ = await asyncio.wait({future, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if future not in done:
            self._task.result()  # raises what the app raised
            raise RuntimeError(f"the app ended its lifespan without answering {phase}")
        if future.result() is not None:
            raise RuntimeError(f"{phase} failed: {future.result()}")

    async def __aenter__(self) -> Lifespan:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
        self._task = asyncio.create_task(self.app(scope, self._receive, self._send))
        await self._phase("lifespan.startup")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._phase("lifespan.shutdown")
        assert self._task is not None
        await self._task


async def raw_app(scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
    """No framework: the same status, headers and body as bare Litestar's answer."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"15")],
        }
    )
    await send({"type": "http.response.body", "body": EXPECTED_BODY, "more_body": False})


async def receive() -> Message:
    return REQUEST


async def discard(message: Message) -> None:
    return None


async def call(app: ASGIApp, scope: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """One request with a capturing ``send``: status, response headers, body."""
    got: list[Message] = []

    async def send(message: Message) -> None:
        got.append(message)

    await app(dict(scope, state={}), receive, send)
    start = next(m for m in got if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in got if m["type"] == "http.response.body")
    return start["status"], list(start.get("headers", [])), body


async def check(
    app: ASGIApp, base: dict[str, Any] = BASE_SCOPE, expected: bytes = EXPECTED_BODY
) -> list[tuple[bytes, bytes]]:
    """One request: status 200 and the expected body, or raise. Returns the response headers."""
    status, headers, body = await call(app, base)
    if status != 200 or body != expected:
        raise RuntimeError(f"unexpected answer: {status} {body!r}")
    return headers


async def sample(
    app: ASGIApp,
    n: int,
    base: dict[str, Any] = BASE_SCOPE,
    clients: Sequence[tuple[str, int]] | None = None,
    *,
    clock: Callable[[], int] = time.perf_counter_ns,
) -> float:
    """µs per request over ``n`` sequential requests (a fresh scope each, as a server would).

    With ``clients``, request ``i`` comes from peer ``clients[i % len(clients)]`` (``scope["client"]``).
    ``clock`` is wall time by default; ``time.thread_time_ns`` counts this thread's CPU time only
    (steady when other processes load the cores: ``stack_cpu.py``).
    """
    if clients is None:
        t0 = clock()
        for _ in range(n):
            scope = base.copy()
            scope["state"] = {}
            await app(scope, receive, discard)
        return (clock() - t0) / n / 1000
    count = len(clients)
    t0 = clock()
    for i in range(n):
        scope = base.copy()
        scope["state"] = {}
        scope["client"] = clients[i % count]
        await app(scope, receive, discard)
    return (clock() - t0) / n / 1000


async def profile(app: ASGIApp, n: int, top: int) -> str:
    """A cProfile of ``n`` requests, top functions by own time, as text (printed after the tables)."""
    profiler = cProfile.Profile()
    profiler.enable()
    await sample(app, n)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime").print_stats(top)
    title = f"## cProfile of {n:,} requests to Automatos /health (top {top} by own time)"
    return f"{title}\n```\n{out.getvalue().strip()}\n```"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=4000, help="requests per sample")
    parser.add_argument("--samples", type=int, default=3, help="samples per app per round (median kept)")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of the real app")
    args = parser.parse_args()
    header("bench/inproc.py: GET /health driven in process, Automatos vs bare Litestar")

    quiet()
    ours = create()
    apps: dict[str, ASGIApp] = {"raw ASGI (harness floor)": raw_app, "bare Litestar": bare_app, "Automatos": ours}
    async with Lifespan(bare_app), Lifespan(ours):
        header_counts = {name: len(await check(app)) for name, app in apps.items()}
        for app in apps.values():  # warm up
            await sample(app, args.requests)
        names = list(apps)
        per_round: dict[str, list[float]] = {n: [] for n in names}
        for r in range(args.rounds):
            order = names if r % 2 == 0 else names[::-1]
            got: dict[str, list[float]] = {n: [] for n in names}
            for _ in range(args.samples):
                for name in order:
                    got[name].append(await sample(apps[name], args.requests))
            for name in names:
                per_round[name].append(median(got[name]))
        profiled = await profile(ours, args.requests * 5, 30) if args.profile else ""

    rounds = args.rounds
    print(
        f"{rounds} rounds; each round: {args.samples} samples per app of {args.requests:,} sequential requests, "
        "apps interleaved, order reversed each round; a round's figure is the median of its samples."
    )
    print()
    rows = []
    for name in names:
        med = median(per_round[name])
        rows.append([name, str(header_counts[name]), *(fmt(v) for v in per_round[name]), fmt(med), f"{1e6 / med:,.0f}"])
    table(
        ["app", "resp. headers", *(f"round {i + 1} µs" for i in range(rounds)), "median µs/req", "req/s (1 core)"],
        rows,
    )
    cost = [o / b for o, b in zip(per_round["Automatos"], per_round["bare Litestar"], strict=True)]
    throughput = [1 / c for c in cost]
    extra = [o - b for o, b in zip(per_round["Automatos"], per_round["bare Litestar"], strict=True)]
    table(
        ["paired, per round", *(f"round {i + 1}" for i in range(rounds)), "median"],
        [
            ["time ratio ours/bare", *(fmt(x, 3) for x in cost), fmt(median(cost), 3)],
            ["throughput ratio bare/ours", *(fmt(x, 3) for x in throughput), fmt(median(throughput), 3)],
            ["extra µs per request", *(fmt(x) for x in extra), fmt(median(extra))],
        ],
    )
    ratio = median(throughput)
    print("## Figure vs goal")
    table(
        ["figure", "measured", "goal", "verdict"],
        [["/health throughput ratio Automatos / bare (in process)", f"{ratio:.3f}", ">= 0.85", verdict(ratio >= 0.85)]],
    )
    if profiled:
        print(profiled)


if __name__ == "__main__":
    asyncio.run(main())
