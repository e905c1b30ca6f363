"""The edge's limits: RateLimit-* headers, JSON nesting bounded on every JSON route, slow bodies."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from automatos.api.app import create_app
from automatos.api.body import JsonDepth
from automatos.api.middleware import STRATEGIES
from tests.api.test_middleware import is_problem, pipeline_of, serving, user
from tests.helpers import AppClient, make_container, serve_app

ADMIN = {"X-Test-User": "root;admin", "X-Admin-Override": "true"}
_PARAM = re.compile(r"\{[^}]*\}")


def rate(response: httpx.Response) -> tuple[int, int, int]:
    headers = response.headers
    return int(headers["ratelimit-limit"]), int(headers["ratelimit-remaining"]), int(headers["ratelimit-reset"])


# -- RateLimit-* headers ----------------------------------------------------------------------------


async def test_every_limited_response_says_limit_remaining_and_reset(tmp_path: Path) -> None:
    async with serving(tmp_path, rate_limit_default="3/minute") as client:
        alice = user()
        answers = [await client.get("/api/echo", headers=alice) for _ in range(4)]
        assert [r.status_code for r in answers] == [200, 200, 200, 429]
        assert [rate(r)[:2] for r in answers] == [(3, 2), (3, 1), (3, 0), (3, 0)]
        assert all(1 <= rate(r)[2] <= 60 for r in answers[:3])
        refused = answers[3]
        is_problem(refused, 429)
        assert rate(refused)[2] == int(refused.headers["retry-after"]) >= 1
        # wrong credentials are counted by address: their 401s say so too
        bad = await client.get("/api/echo", headers={"X-Bad": "1"})
        is_problem(bad, 401)
        assert rate(bad)[:2] == (3, 2)
        # health probes are not limited and carry none of it
        assert "ratelimit-limit" not in (await client.get("/health")).headers


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
async def test_headers_from_the_shared_storage_path(tmp_path: Path, strategy: str) -> None:
    """The ``limits`` path (what Redis uses), here on its memory storage, for both strategies."""
    async with serving(tmp_path, rate_limit_default="2/minute") as client:
        pipeline = pipeline_of(client)
        pipeline.strategy, pipeline._limiter, pipeline._local = STRATEGIES[strategy], None, None
        alice = user()
        answers = [await client.get("/api/echo", headers=alice) for _ in range(4)]
        assert [r.status_code for r in answers] == [200, 200, 429, 429]
        assert [rate(r)[:2] for r in answers] == [(2, 1), (2, 0), (2, 0), (2, 0)]
        for refused in answers[2:]:  # the second refusal is answered from the local block list
            assert rate(refused)[2] == int(refused.headers["retry-after"]) >= 1


@pytest.mark.redis
async def test_headers_with_redis_count_every_node(tmp_path: Path, redis_url: str) -> None:
    settings = {"redis_url": redis_url, "rate_limit_default": "3/minute"}
    shared = user()
    async with serving(tmp_path / "a", **settings) as node_a, serving(tmp_path / "b", **settings) as node_b:
        first = await node_a.get("/api/echo", headers=shared)
        second = await node_b.get("/api/echo", headers=shared)
        assert (rate(first)[:2], rate(second)[:2]) == ((3, 2), (3, 1))
        assert 1 <= rate(second)[2] <= 120
        await node_a.get("/api/echo", headers=shared)
        refused = await node_b.get("/api/echo", headers=shared)
        is_problem(refused, 429)
        assert rate(refused)[:2] == (3, 0) and rate(refused)[2] == int(refused.headers["retry-after"])


async def test_the_tighter_of_route_and_general_limit_is_reported(tmp_path: Path) -> None:
    settings = {"rate_limit_default": "100/minute", "rate_limit_routes": ("GET /api/items/{id}=2/minute",)}
    async with serving(tmp_path, **settings) as client:
        alice = user()
        answers = [await client.get(f"/api/items/{i}", headers=alice) for i in range(3)]
        assert [r.status_code for r in answers] == [200, 200, 429]
        assert [rate(r)[:2] for r in answers] == [(2, 1), (2, 0), (2, 0)]
        assert rate(await client.get("/api/echo", headers=alice))[:2] == (100, 97)


# -- JSON nesting -----------------------------------------------------------------------------------


def deep_array(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def deep_object(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.fixture
async def app_client(tmp_path: Path) -> AsyncIterator[AppClient]:
    async with serve_app(create_app(make_container(tmp_path, rate_limit_default="100000/minute"))) as client:
        yield client


def body_routes(client: AppClient) -> list[tuple[str, str, bool]]:
    """Every POST/PUT/PATCH route of the real app, path parameters filled in, and whether its handler
    takes a ``data`` body (the others never decode one: blobs take raw bytes, restore takes none)."""
    found = []
    for route in client.app.routes:
        for handler in getattr(route, "route_handlers", ()):
            for method in sorted(handler.http_methods):
                if method in ("POST", "PUT", "PATCH"):
                    takes_data = "data" in handler.parsed_fn_signature.parameters
                    found.append((method, _PARAM.sub("x", route.path), takes_data))
    return sorted(found)


async def test_deeply_nested_json_is_400_on_every_json_route(app_client: AppClient) -> None:
    """Regression: 1,000 levels (2 KB) made msgspec raise RecursionError, a 500 before any key check."""
    routes = body_routes(app_client)
    assert ("POST", "/api/workspaces", True) in routes and ("POST", "/v1/chat/completions", True) in routes
    json_routes = 0
    for method, path, takes_data in routes:
        for body in (deep_array(1_000), deep_object(1_000), deep_array(10_000), deep_object(10_000)):
            for headers in ({}, ADMIN):  # anonymous, and a platform admin
                response = await app_client.request(
                    method, path, content=body, headers={**headers, "Content-Type": "application/json"}
                )
                assert response.status_code < 500, (method, path, response.status_code, response.text[:300])
                if not takes_data:  # its own checks answer (signature, credentials)
                    continue
                problem = is_problem(response, 400)
                assert "nested deeper than 64 levels" in problem["detail"] and problem["field"] == "body"
                json_routes += 1
    assert json_routes >= 4 * 2 * 20


async def test_nesting_up_to_the_limit_passes_the_guard(app_client: AppClient) -> None:
    """64 levels reach the handler (its validation answers), 65 do not."""
    ok = b'{"name": "' + b"[" * 100 + b'", "slug": ' + deep_array(63) + b"}"  # brackets in strings do not count
    response = await app_client.post("/api/workspaces", content=ok, headers=ADMIN)
    assert response.status_code == 422, response.text  # slug is not a string: the handler's validation
    too_deep = b'{"name": "n", "slug": ' + deep_array(64) + b"}"
    problem = is_problem(await app_client.post("/api/workspaces", content=too_deep, headers=ADMIN), 400)
    assert "JSON_MAX_DEPTH" in problem["detail"]


async def test_a_deep_body_sent_in_pieces_is_caught(app_client: AppClient) -> None:
    async def pieces() -> AsyncIterator[bytes]:
        body = deep_object(500)
        for start in range(0, len(body), 7):
            yield body[start : start + 7]

    response = await app_client.post("/api/workspaces", content=pieces(), headers=ADMIN)
    is_problem(response, 400)


def test_depth_is_followed_across_chunks_strings_and_escapes() -> None:
    text = b'{"a": "x\\"[[[[\\\\", "b": [[1, {"c": "]]}"}]], "d": [[[]]]}'
    assert max_depth(text) == 4  # root {, then b's [ [ {; the brackets inside strings do not count
    assert JsonDepth(3).feed(text, last=True) is False and JsonDepth(4).feed(text, last=True) is True
    for size in range(1, len(text) + 1):  # every chunk size: the same answer as in one piece
        for limit in (2, 3, 4):
            guard = JsonDepth(limit)
            chunks = [text[i : i + size] for i in range(0, len(text), size)]
            results = [guard.feed(chunk, last=i == len(chunks) - 1) for i, chunk in enumerate(chunks)]
            assert all(results) == (max_depth(text) <= limit), (size, limit)


def max_depth(text: bytes) -> int:
    """The reference: a plain character loop that knows JSON strings."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text.decode():
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


# -- slow bodies ------------------------------------------------------------------------------------


async def test_a_body_that_stops_arriving_is_408(tmp_path: Path) -> None:
    async with serve_app(create_app(make_container(tmp_path, http_body_timeout_seconds=0.2))) as client:
        stalled = asyncio.Event()

        async def slow() -> AsyncIterator[bytes]:
            yield b'{"name": "a'
            await stalled.wait()  # never set: the client stops sending mid-body
            yield b'"}'

        response = await client.post("/api/workspaces", content=slow(), headers=ADMIN)
        problem = is_problem(response, 408)
        assert "HTTP_BODY_TIMEOUT_SECONDS" in problem["detail"]
        assert response.headers["connection"] == "close"
        # the next request is served normally
        assert (await client.get("/api/workspaces", headers=ADMIN)).status_code == 200


# -- bounded state ----------------------------------------------------------------------------------


async def test_per_route_and_per_client_state_stays_bounded(tmp_path: Path) -> None:
    """Many paths of one route and many clients: one statistics row, and idle clients' counters swept."""
    from automatos.kernel.memory_limiter import SlidingWindowCounter

    class Clock:
        now = 0.0

        def __call__(self) -> float:
            return self.now

    clock = Clock()
    async with serving(tmp_path, rate_limit_default="1000/minute") as client:
        pipeline = pipeline_of(client)
        pipeline._local = counter = SlidingWindowCounter(clock=clock)
        for i in range(300):
            assert (await client.get(f"/api/items/{i}", headers=user())).status_code == 200
        rows = [r for r in pipeline.stats.snapshot()["routes"] if r["path"].startswith("/api/items")]
        assert [(r["path"], r["count"]) for r in rows] == [("/api/items/{item_id}", 300)]
        assert len(counter) == 300
        clock.now = 200.0  # every client idle for more than two windows: the next counted hit sweeps them
        assert (await client.get("/api/items/1", headers=user())).status_code == 200
        assert len(counter) == 1
