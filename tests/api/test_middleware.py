"""The request middleware: request id, security headers, CORS, 401, rate limits, statistics, logs.

Apps are built here with :class:`KernelPlugin` (which installs the middleware around the
container's request pipeline and mounts the stats controller) plus a few test routes.
"""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar, get
from litestar.di import NamedDependency
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, ScalarRenderPlugin
from litestar.params import FromPath

from automatos import Event, Principal, hookimpl
from automatos.api.middleware import STRATEGIES, RequestPipeline
from automatos.api.plugin import KernelPlugin
from automatos.api.stats import MAX_ROUTES, RouteStats
from automatos.kernel.core import Kernel
from automatos.kernel.errors import AuthenticationError
from automatos.kernel.logging import configure_logging
from automatos.kernel.settings import load_settings
from automatos.kernel.types import RequestContext
from tests.helpers import EVERYTHING, AppClient, candidate, container_of, make_container, serve_app
from tests.services import free_port

log = logging.getLogger("automatos.tests.middleware")
ADMIN = {"X-Test-User": "root;admin"}
HEX32 = re.compile(r"[0-9a-f]{32}")


# -- a test extension: an auth method that raises, one that hands out a per-principal limit ---------


class RaisingAuth:
    name = "test-raising"
    priority = 5

    def authenticate(self, headers: Mapping[str, str]) -> Principal | None:
        if headers.get("x-bad") == "1":
            raise AuthenticationError("the X-Bad credential is not valid", field="X-Bad")
        return None


class LimitedAuth:
    name = "test-limited"
    priority = 6

    def authenticate(self, headers: Mapping[str, str]) -> Principal | None:
        user = headers.get("x-limited-user")
        return Principal(id=user, auth_method=self.name, rate_limit="2/minute") if user else None


class MiddlewareTestPlugin:
    @hookimpl
    def register_auth_methods(self, register: Any) -> None:
        register(RaisingAuth())
        register(LimitedAuth())


AUTH_PLUGIN = candidate("tests.api.test_middleware", "tests.middleware-auth", loader=MiddlewareTestPlugin)


# -- routes used by the tests ---------------------------------------------------------------------


@get("/api/echo", sync_to_thread=False)
def echo(ctx: NamedDependency[RequestContext]) -> dict[str, Any]:
    log.info(
        "echo for %s with Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.c2ln and key atk_live_0123456789abcdef",
        ctx.principal.id if ctx.principal else "anonymous",
    )
    return {"request_id": ctx.request_id, "principal": ctx.principal.id if ctx.principal else None}


@get("/api/items/{item_id:int}", sync_to_thread=False)
def item(item_id: FromPath[int]) -> dict[str, int]:
    return {"id": item_id}


@get("/api/explode", sync_to_thread=False)
def explode() -> None:
    raise RuntimeError("boom")


@get("/api/hooked")
async def hooked(kernel: NamedDependency[Kernel]) -> dict[str, int]:
    """Calls a hook twice while serving the request: the route's statistics show the time in it."""
    for _ in range(2):
        await kernel.hooks.on_event(kernel.hooks.global_view(), Event(name="tests.hooked"), None)
    return {"calls": 2}


TEST_ROUTES = [echo, item, explode, hooked]


def build_app(tmp_path: Path, **settings: Any) -> Litestar:
    container = make_container(tmp_path, plugins=(EVERYTHING, AUTH_PLUGIN), **settings)
    return Litestar(
        route_handlers=TEST_ROUTES,
        plugins=[KernelPlugin(container)],
        openapi_config=OpenAPIConfig(
            title="t", version="0", path="/schema", render_plugins=[ScalarRenderPlugin(), JsonRenderPlugin()]
        ),
        logging_config=None,
        debug=False,
    )


@asynccontextmanager
async def serving(tmp_path: Path, **settings: Any) -> AsyncIterator[AppClient]:
    async with serve_app(build_app(tmp_path, **settings)) as client:
        yield client


def kernel_of(client: AppClient) -> Kernel:
    kernel: Kernel = client.app.state["kernel"]
    return kernel


def pipeline_of(client: AppClient) -> RequestPipeline:
    """The request pipeline the app's middleware uses (the container's one)."""
    return container_of(client).pipeline()


def is_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]
    return body


def user() -> dict[str, str]:
    """A principal nobody else uses (Redis outlives a test)."""
    return {"X-Test-User": f"u-{uuid.uuid4().hex}"}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[AppClient]:
    async with serving(tmp_path) as test_client:
        yield test_client


# -- request id -----------------------------------------------------------------------------------


async def test_request_id_is_generated_kept_or_replaced(client: AppClient) -> None:
    generated = await client.get("/api/echo")
    assert HEX32.fullmatch(generated.headers["x-request-id"])
    assert generated.json()["request_id"] == generated.headers["x-request-id"]  # the context reads the same id

    kept = await client.get("/api/echo", headers={"X-Request-ID": "edge-01:abc.DEF_9"})
    assert kept.headers["x-request-id"] == kept.json()["request_id"] == "edge-01:abc.DEF_9"

    for bad in ("has space", "x" * 129, "semi;colon", "<script>"):
        replaced = await client.get("/api/echo", headers={"X-Request-ID": bad})
        assert HEX32.fullmatch(replaced.headers["x-request-id"]), bad
        assert replaced.json()["request_id"] == replaced.headers["x-request-id"]

    # health probes bypass the middleware: as cheap as bare Litestar, nothing added
    assert "x-request-id" not in (await client.get("/health")).headers
    assert is_problem(await client.get("/api/explode"), 500)
    assert (await client.get("/api/explode")).headers["x-request-id"]


async def test_principal_is_authenticated_once_and_handed_to_the_context(client: AppClient) -> None:
    assert (await client.get("/api/echo", headers={"X-Test-User": "alice"})).json()["principal"] == "alice"
    assert (await client.get("/api/echo")).json()["principal"] is None


async def test_log_lines_carry_request_and_principal_ids_and_no_secret(tmp_path: Path) -> None:
    stream = io.StringIO()
    handler = configure_logging(load_settings({}, log_format="json"), stream=stream)
    try:
        async with serving(tmp_path) as client:
            response = await client.get("/api/echo", headers={"X-Test-User": "bob", "X-Request-ID": "trace-42"})
            assert response.status_code == 200
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    echo_lines = [line for line in lines if line["logger"] == log.name]
    assert len(echo_lines) == 1
    line = echo_lines[0]
    assert (line["request_id"], line["principal_id"], line["level"]) == ("trace-42", "bob", "INFO")
    assert "echo for bob" in line["message"]
    assert "c2VjcmV0" not in line["message"] and "0123456789abcdef" not in line["message"]
    assert "Bearer **********" in line["message"] and "atk_**********" in line["message"]
    assert "atk_live" not in stream.getvalue()


# -- security headers -----------------------------------------------------------------------------


def _security(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "camera=()" in response.headers["permissions-policy"]


async def test_security_headers_on_api_responses_and_not_csp_on_docs(client: AppClient) -> None:
    for response in (await client.get("/api/echo"), await client.get("/api/explode")):
        _security(response)
        assert response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert "strict-transport-security" not in response.headers  # development
        assert len(response.headers.get_list("x-request-id")) == 1
    docs = await client.get("/schema")
    assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]
    _security(docs)
    assert "content-security-policy" not in docs.headers
    assert "content-security-policy" not in (await client.get("/schema/openapi.json")).headers


async def test_hsts_only_in_production(tmp_path: Path) -> None:
    async with serving(tmp_path, environment="production") as client:
        response = await client.get("/api/echo")
        assert response.headers["strict-transport-security"].startswith("max-age=")
        _security(response)


# -- CORS -----------------------------------------------------------------------------------------

APP_ORIGIN = "https://app.example.com"
EVIL_ORIGIN = "https://evil.example.net"


def _preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, x-workspace-id",
    }


async def test_cors_preflight_and_simple_requests(tmp_path: Path) -> None:
    async with serving(tmp_path, cors_allow_origins=(APP_ORIGIN,)) as client:
        ok = await client.options("/api/echo", headers=_preflight(APP_ORIGIN))
        assert ok.status_code == 204
        assert ok.headers["access-control-allow-origin"] == APP_ORIGIN
        assert "POST" in ok.headers["access-control-allow-methods"]
        assert ok.headers["access-control-allow-headers"] == "authorization, content-type, x-workspace-id"
        assert "access-control-allow-credentials" not in ok.headers
        assert "Origin" in ok.headers["vary"] and ok.headers["x-request-id"]
        _security(ok)

        refused = is_problem(await client.options("/api/echo", headers=_preflight(EVIL_ORIGIN)), 403)
        assert refused["field"] == "Origin" and EVIL_ORIGIN in refused["detail"]

        simple = await client.get("/api/echo", headers={"Origin": APP_ORIGIN})
        assert simple.headers["access-control-allow-origin"] == APP_ORIGIN
        assert simple.headers["vary"] == "Origin"
        exposed = {h.strip() for h in simple.headers["access-control-expose-headers"].split(",")}
        assert exposed == {"X-Routing-Agent-ID", "X-Routing-Confidence", "X-Request-ID"}

        foreign = await client.get("/api/echo", headers={"Origin": EVIL_ORIGIN})
        assert foreign.status_code == 200
        assert "access-control-allow-origin" not in foreign.headers
        assert "access-control-expose-headers" not in foreign.headers
        assert foreign.headers["vary"] == "Origin"

        # errors answered by the middleware itself are readable by an allowed origin too
        bad = await client.get("/api/echo", headers={"Origin": APP_ORIGIN, "X-Bad": "1"})
        assert bad.status_code == 401 and bad.headers["access-control-allow-origin"] == APP_ORIGIN


async def test_cors_off_by_default_leaves_no_trace(client: AppClient) -> None:
    response = await client.get("/api/echo", headers={"Origin": APP_ORIGIN})
    assert "access-control-allow-origin" not in response.headers and "vary" not in response.headers
    preflight = await client.options("/api/echo", headers=_preflight(APP_ORIGIN))
    assert "access-control-allow-origin" not in preflight.headers


async def test_cors_origins_follow_a_run_time_override(tmp_path: Path) -> None:
    async with serving(tmp_path, cors_allow_origins=(APP_ORIGIN,)) as client:
        assert (await client.get("/api/echo", headers={"Origin": EVIL_ORIGIN})).headers.get(
            "access-control-allow-origin"
        ) is None
        await kernel_of(client).set_setting("CORS_ALLOW_ORIGINS", EVIL_ORIGIN)
        now = await client.get("/api/echo", headers={"Origin": EVIL_ORIGIN})
        assert now.headers["access-control-allow-origin"] == EVIL_ORIGIN
        before = await client.get("/api/echo", headers={"Origin": APP_ORIGIN})
        assert "access-control-allow-origin" not in before.headers
        assert (await client.options("/api/echo", headers=_preflight(EVIL_ORIGIN))).status_code == 204
        await kernel_of(client).set_setting("CORS_ALLOW_ORIGINS", None)
        back = await client.get("/api/echo", headers={"Origin": APP_ORIGIN})
        assert back.headers["access-control-allow-origin"] == APP_ORIGIN


# -- authentication -------------------------------------------------------------------------------


async def test_invalid_credentials_are_401_with_www_authenticate(client: AppClient) -> None:
    response = await client.get("/api/echo", headers={"X-Bad": "1"})
    body = is_problem(response, 401)
    assert response.headers["www-authenticate"].startswith('Bearer realm="automatos"')
    assert body["detail"] == "the X-Bad credential is not valid" and body["field"] == "X-Bad"
    assert body["type"].endswith("/unauthenticated")
    assert HEX32.fullmatch(response.headers["x-request-id"])
    _security(response)
    # liveness does not authenticate at all
    assert (await client.get("/health", headers={"X-Bad": "1"})).status_code == 200


class FakeClock:
    """A clock a test moves by hand; it starts at 0, as ``time.monotonic()`` nearly does on a fresh boot."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_in_process_counter_slides_and_says_when_to_retry() -> None:
    from automatos.kernel.memory_limiter import SlidingWindowCounter

    clock = FakeClock()
    counter = SlidingWindowCounter(clock=clock)

    def hit(key: str, at: float) -> int | None:
        clock.now = at
        return counter.hit(key, 3, 60.0)

    assert [hit("a", float(t)) for t in range(4)] == [None, None, None, 77]
    # one second into the next window the previous one still weighs 59/60 of its 3 hits
    assert hit("a", 61.0) == 20
    assert hit("a", 100.0) is None  # by then it weighs 1 hit
    assert hit("b", 100.0) is None  # clients are counted apart
    assert len(counter) == 2


def test_the_counter_sweeps_on_its_own_clock_from_zero() -> None:
    """Regression: the sweep read ``time.monotonic()`` while the hits read a fake ``now``.

    On a machine up for less than ~8 minutes the sweep then ran (or not) depending on the uptime.
    Here the one injected clock starts at 0: the sweep runs exactly when that clock says so.
    """
    from automatos.kernel.memory_limiter import SlidingWindowCounter

    clock = FakeClock()
    counter = SlidingWindowCounter(clock=clock, sweep_seconds=10.0)
    assert counter.take("a", 3, 60.0) == (True, 2, 60)
    clock.now = 5.0
    assert counter.take("b", 3, 60.0) == (True, 2, 55)
    assert counter.take("b", 3, 60.0) == (True, 1, 55)
    clock.now = 9.0  # not yet 10 s since the counter was made: no sweep, whatever the machine's uptime
    assert counter.take("c", 3, 60.0) == (True, 2, 51) and len(counter) == 3
    clock.now = 500.0  # a, b and c idle for more than two windows; the sweep after this hit drops them
    assert counter.take("d", 3, 60.0) == (True, 2, 40)
    assert len(counter) == 1
    # refused: remaining 0 and the reset is the Retry-After
    assert [counter.take("d", 3, 60.0)[0] for _ in range(2)] == [True, True]
    assert counter.take("d", 3, 60.0) == (False, 0, 60)  # 40 s to the next window + 20 s of decay


async def test_wrong_credentials_are_rate_limited_by_address(tmp_path: Path) -> None:
    async with serving(tmp_path, rate_limit_default="3/minute") as client:
        for _ in range(3):
            is_problem(await client.get("/api/echo", headers={"X-Bad": "1"}), 401)
        limited = await client.get("/api/echo", headers={"X-Bad": "1"})
        is_problem(limited, 429)
        assert int(limited.headers["retry-after"]) >= 1


# -- rate limits ----------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
async def test_over_the_default_limit_is_429_with_retry_after(tmp_path: Path, strategy: str) -> None:
    async with serving(tmp_path, rate_limit_default="3/minute") as client:
        pipeline = pipeline_of(client)
        pipeline.strategy, pipeline._limiter = STRATEGIES[strategy], None
        for _ in range(3):
            assert (await client.get("/api/echo")).status_code == 200
        response = await client.get("/api/echo")
        body = is_problem(response, 429)
        retry_after = int(response.headers["retry-after"])
        # at most two windows: a sliding window waits until the full previous window has decayed
        assert 1 <= retry_after <= 120 and body["retry_after"] == retry_after
        assert "3 per 1 minute" in body["detail"] and response.headers["x-request-id"]
        _security(response)
        # another client is counted apart, and health checks are exempt
        assert (await client.get("/api/echo", headers=user())).status_code == 200
        for _ in range(10):
            assert (await client.get("/health")).status_code == 200
        assert type(pipeline.limiter) is STRATEGIES[strategy]


async def test_a_client_over_its_limit_is_refused_without_asking_the_storage(tmp_path: Path) -> None:
    async with serving(tmp_path, rate_limit_default="2/minute") as client:
        pipeline = pipeline_of(client)
        pipeline._local = None  # the shared-storage path (Redis in production), here on limits' memory
        limiter = pipeline.limiter
        calls: list[tuple[str, ...]] = []
        hit = limiter.hit

        async def counting_hit(item: Any, *identifiers: str, cost: int = 1) -> bool:
            calls.append(identifiers)
            return await hit(item, *identifiers, cost=cost)

        limiter.hit = counting_hit  # type: ignore[method-assign]
        alice = user()
        statuses = [(await client.get("/api/echo", headers=alice)).status_code for _ in range(6)]
        assert statuses == [200, 200, 429, 429, 429, 429]
        assert len(calls) == 3  # two passes and the first refusal; the rest were answered locally
        response = await client.get("/api/echo", headers=alice)
        assert int(response.headers["retry-after"]) >= 1
        assert (await client.get("/api/echo", headers=user())).status_code == 200


async def test_per_route_limit(tmp_path: Path) -> None:
    settings = {"rate_limit_default": "100/minute", "rate_limit_routes": ("GET /api/items/{id}=2/minute",)}
    async with serving(tmp_path, **settings) as client:
        alice = user()
        assert (await client.get("/api/items/1", headers=alice)).status_code == 200
        assert (await client.get("/api/items/2", headers=alice)).status_code == 200  # same template, same counter
        body = is_problem(await client.get("/api/items/3", headers=alice), 429)
        assert "GET /api/items/{}" in body["detail"] and "2 per 1 minute" in body["detail"]
        assert (await client.get("/api/echo", headers=alice)).status_code == 200  # other routes: the default
        assert (await client.get("/api/items/1", headers=user())).status_code == 200  # other clients: their own
        # per-route limits are run-time settings too
        await kernel_of(client).set_setting("RATE_LIMIT_ROUTES", "GET /api/echo=1/minute")
        assert (await client.get("/api/items/4", headers=alice)).status_code == 200
        bob = user()
        assert (await client.get("/api/echo", headers=bob)).status_code == 200
        is_problem(await client.get("/api/echo", headers=bob), 429)


async def test_principal_rate_limit_overrides_the_default(tmp_path: Path) -> None:
    async with serving(tmp_path, rate_limit_default="100/minute") as client:
        limited = {"X-Limited-User": f"key-{uuid.uuid4().hex}"}
        assert [(await client.get("/api/echo", headers=limited)).status_code for _ in range(3)] == [200, 200, 429]
        body = (await client.get("/api/echo", headers=limited)).json()
        assert "2 per 1 minute" in body["detail"]
        assert [(await client.get("/api/echo", headers=user())).status_code for _ in range(3)] == [200, 200, 200]


async def test_default_limit_follows_a_run_time_override(tmp_path: Path) -> None:
    async with serving(tmp_path, rate_limit_default="100/minute") as client:
        await kernel_of(client).set_setting("RATE_LIMIT_DEFAULT", "1/minute")
        alice = user()
        assert [(await client.get("/api/echo", headers=alice)).status_code for _ in range(2)] == [200, 429]


@asynccontextmanager
async def peers(app: Litestar) -> AsyncIterator[Any]:
    """``call(peer, headers)``: a request as if from TCP peer ``peer`` (the lifespan runs around it)."""
    async with serve_app(app):
        clients: dict[str, httpx.AsyncClient] = {}

        async def call(peer: str, headers: dict[str, str] | None = None) -> int:
            if peer not in clients:
                transport = httpx.ASGITransport(app=app, client=(peer, 40000))  # type: ignore[arg-type]
                clients[peer] = httpx.AsyncClient(transport=transport, base_url="http://testserver")
            return (await clients[peer].get("/api/echo", headers=headers or {})).status_code

        try:
            yield call
        finally:
            for http in clients.values():
                await http.aclose()


async def test_forwarded_for_is_believed_only_from_trusted_proxies(tmp_path: Path) -> None:
    app = build_app(tmp_path, rate_limit_default="2/minute", trusted_proxies=("10.0.0.0/8", "fd00::/8"))
    async with peers(app) as call:
        # an untrusted peer cannot pick its key by spoofing X-Forwarded-For
        spoofed = [await call("192.0.2.10", {"X-Forwarded-For": f"198.51.100.{i}"}) for i in range(3)]
        assert spoofed == [200, 200, 429]
        # through a trusted proxy, the right-most untrusted address is the client
        assert [await call("10.0.0.5", {"X-Forwarded-For": "203.0.113.1"}) for _ in range(2)] == [200, 200]
        assert await call("10.0.0.5", {"X-Forwarded-For": "203.0.113.2"}) == 200
        # a chain: client, then another trusted proxy — the client is 203.0.113.1 again
        assert await call("10.0.0.6", {"X-Forwarded-For": "203.0.113.1, 10.9.9.9"}) == 429
        # a spoofed left-most entry does not help either: the proxy appended the real address
        assert await call("10.0.0.5", {"X-Forwarded-For": "1.2.3.4, 203.0.113.1"}) == 429
        # the proxy's own budget is not consumed by what it forwards
        assert await call("10.0.0.5") == 200


async def test_forwarded_for_is_ignored_when_no_proxy_is_trusted(tmp_path: Path) -> None:
    app = build_app(tmp_path, rate_limit_default="1/minute")
    async with peers(app) as call:
        assert await call("192.0.2.20", {"X-Forwarded-For": "198.51.100.1"}) == 200
        assert await call("192.0.2.20", {"X-Forwarded-For": "198.51.100.2"}) == 429
        assert await call("192.0.2.21") == 200


@pytest.mark.redis
async def test_limits_are_shared_by_every_node_through_redis(tmp_path: Path, redis_url: str) -> None:
    settings = {"redis_url": redis_url, "rate_limit_default": "3/minute"}
    shared = user()
    async with serving(tmp_path / "a", **settings) as node_a, serving(tmp_path / "b", **settings) as node_b:
        assert (await node_a.get("/api/echo", headers=shared)).status_code == 200
        assert (await node_a.get("/api/echo", headers=shared)).status_code == 200
        assert (await node_b.get("/api/echo", headers=shared)).status_code == 200
        response = await node_b.get("/api/echo", headers=shared)
        is_problem(response, 429)
        assert int(response.headers["retry-after"]) >= 1
        is_problem(await node_a.get("/api/echo", headers=shared), 429)
        assert (await node_a.get("/api/echo", headers=user())).status_code == 200


async def test_limiter_fails_open_when_its_storage_is_down(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = {
        "redis_url": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        "kv_backend": "memory",
        "pubsub_backend": "memory",
        "rate_limit_default": "1/minute",
    }
    with caplog.at_level(logging.WARNING, logger="automatos.api.middleware"):
        async with serving(tmp_path, **settings) as client:
            alice = user()
            assert [(await client.get("/api/echo", headers=alice)).status_code for _ in range(3)] == [200] * 3
    warnings = [r for r in caplog.records if r.name == "automatos.api.middleware"]
    assert len(warnings) == 1  # logged once, not once per request
    assert "requests pass unchecked" in warnings[0].getMessage()


# -- statistics -----------------------------------------------------------------------------------


def test_route_stats_are_bounded() -> None:
    stats = RouteStats()
    for i in range(MAX_ROUTES + 100):
        stats.record(f"GET /api/route-{i}", 0.001 * (i % 7), error=i % 10 == 0)
    stats.record("GET /api/route-0", 0.5)
    snapshot = stats.snapshot()
    assert len(snapshot["routes"]) == MAX_ROUTES == snapshot["max_routes"]
    assert snapshot["other"]["count"] == 100 and snapshot["other"]["errors"] == 10
    first = snapshot["routes"][0]
    assert (first["method"], first["path"], first["count"], first["max_ms"]) == ("GET", "/api/route-0", 2, 500.0)
    assert sum(r["count"] for r in snapshot["routes"]) + snapshot["other"]["count"] == MAX_ROUTES + 101


async def test_endpoint_statistics_for_platform_admins(client: AppClient) -> None:
    for _ in range(3):
        await client.get("/api/items/7")
    await client.get("/api/explode")
    is_problem(await client.get("/api/health/endpoints"), 401)
    is_problem(await client.get("/api/health/endpoints", headers={"X-Test-User": "someone"}), 403)
    response = await client.get("/api/health/endpoints", headers=ADMIN)
    assert response.status_code == 200
    rows = {(r["method"], r["path"]): r for r in response.json()["routes"]}
    items = rows[("GET", "/api/items/{item_id}")]  # the route template, not the raw path
    assert items["count"] == 3 and items["errors"] == 0 and items["max_ms"] >= items["mean_ms"] > 0
    assert rows[("GET", "/api/explode")]["errors"] == 1
    assert ("GET", "/api/items/7") not in rows
    assert response.json()["max_routes"] == MAX_ROUTES
    assert container_of(client).route_stats().snapshot()["routes"]
    assert items["hooks"] == []  # no hook called while serving it


async def test_endpoint_statistics_show_the_time_in_each_hook_per_route(client: AppClient) -> None:
    for _ in range(3):
        assert (await client.get("/api/hooked")).status_code == 200
    snapshot = (await client.get("/api/health/endpoints", headers=ADMIN)).json()
    rows = {(r["method"], r["path"]): r for r in snapshot["routes"]}
    (on_event,) = [h for h in rows[("GET", "/api/hooked")]["hooks"] if h["hook"] == "on_event"]
    assert on_event["count"] == 6  # one per hook call, not per implementation
    assert on_event["max_ms"] >= on_event["mean_ms"] >= 0 and on_event["total_ms"] >= on_event["max_ms"]


@pytest.fixture(autouse=True)
def _no_leaked_log_handlers() -> Iterator[None]:
    before = list(logging.getLogger().handlers)
    yield
    for handler in list(logging.getLogger().handlers):
        if handler not in before:
            logging.getLogger().removeHandler(handler)
