"""The one request middleware: request id, CORS, authentication, rate limit, headers, statistics.

Why one pure-ASGI middleware instead of Litestar's stock ones: measured here (shared/BENCHMARKS.md), the
stock request-id, security-header, CORS and rate-limit middlewares stacked reach 0.29 of bare
Litestar's throughput, the stock rate limiter alone +37 µs/request (it keeps a list of timestamps
per client and falls to 0.08 of bare when one client sends all the traffic), stock CORS +11 µs.
The same concerns folded into one ASGI callable with precomputed headers and an O(1) limiter
reached 0.61-0.70. So: one ``send`` wrapper instead of four, headers as precomputed ``(bytes,
bytes)`` tuples, settings read by attribute access, the request's headers parsed once into
Litestar's own :class:`~litestar.datastructures.Headers` (cached in the scope, so handlers reuse
it), and the caller authenticated exactly once (the result is left in ``scope["state"]`` for
:func:`automatos.api.dependencies.provide_context`).

Size (~940 lines): one module because it is one fused middleware on purpose (the reason above);
splitting it would put back the per-layer calls it exists to remove.

Measured with this module (same small JSON handler, test auth header, in-memory limiter, 2-core
machine, interleaved rounds): over HTTP (uvicorn pinned to one core, ``wrk -t1 -c32``) 0.64 of
bare Litestar's req/s with the sliding-window counter, 0.70 with the fixed window; in process
(ASGI driven directly, no server cost to dilute it) +36 µs on a 28 µs bare request, of which the
limiter ~10-18 µs, ``Headers`` ~3 µs (shared with the handler's ``request.headers``), Litestar's
extra per-route exception wrapper ~1.5 µs. With Redis, the limiter is one ``EVALSHA`` per request.

Per HTTP request, in order:

1. Request id: a client ``X-Request-ID`` matching ``[A-Za-z0-9._:-]{1,64}`` (the audit log's column)
   is kept, anything else is replaced by a uuid4 hex. It goes to ``scope["state"]["request_id"]``, to the logging
   context variable (every log line of the request carries it) and back on every response.
2. CORS, from ``CORS_ALLOW_ORIGINS`` read per request (a run-time override applies at once).
   A preflight (``OPTIONS`` + ``Origin`` + ``Access-Control-Request-Method``) is answered here:
   204 with the allow headers for an allowed origin, 403 problem+json otherwise, before
   authentication (browsers send preflights without credentials). Actual responses get
   ``Access-Control-Allow-Origin`` for allowed origins only, ``Vary: Origin`` whenever CORS is
   configured (so a cache never serves one origin's answer to another), and the exposed
   ``X-Routing-Agent-ID, X-Routing-Confidence, X-Request-ID``. Credentials stay off: callers
   authenticate with ``Authorization``/``X-API-Key`` headers, which CORS allows without
   credentials mode, and leaving cookies out removes the CSRF surface altogether.
3. Authentication through :func:`automatos.api.dependencies.authenticate`; ``AuthenticationError`` is a
   401 problem+json with ``WWW-Authenticate: Bearer realm="automatos", error="invalid_token"``.
4. Rate limit, with the ``limits`` library's sliding-window counter (O(1) per request whatever one
   client's volume: two counters per key, one Lua script — one round trip — on Redis), in memory
   by default and in Redis when ``REDIS_URL`` is set, so every API process shares the counts.
   The client is the principal id when authenticated, else the peer address; ``X-Forwarded-For``
   is believed only when the peer is in ``TRUSTED_PROXIES``, and then the right-most address that
   is not itself a trusted proxy is the client. Every request counts against the client's general
   limit (``Principal.rate_limit`` when the credential carries one, else ``RATE_LIMIT_DEFAULT``);
   a route listed in ``RATE_LIMIT_ROUTES`` has, in addition, its own counter per client, checked
   first (an expensive route stays protected whatever a key's general quota; the second round trip
   happens only on those routes). Over a limit: 429 problem+json with ``Retry-After``. Without
   Redis the counts live in :class:`automatos.kernel.memory_limiter.SlidingWindowCounter` (the same
   algorithm as ``limits``' sliding-window counter at a fraction of its cost); with Redis, in
   ``limits`` so that every node shares them. The health endpoints bypass the middleware entirely
   (no authentication, no limit, no added headers: probes must stay as cheap as bare Litestar).
   If the limiter's storage fails, the request is let through (fail open: a Redis outage must not
   take the API down), a warning is logged at most every 30 s, and the storage is left alone for
   a second before it is tried again.
5. Headers on every response: ``X-Content-Type-Options``, ``X-Frame-Options``,
   ``Referrer-Policy``, ``Permissions-Policy``, a ``Content-Security-Policy`` that forbids
   everything (not on ``/schema*``: the docs pages run scripts), ``Strict-Transport-Security`` in
   production, and ``X-Request-ID``.
6. Per-route statistics (count, 5xx count, total and max latency), keyed by method and route
   template, bounded to 500 routes (the rest share one ``other`` bucket), for
   ``GET /api/health/endpoints``; and, per route, the time spent in each hook: the route's table
   is put in :data:`automatos.kernel.metrics.HOOK_TIMES` for the request, where the hook facade
   adds each hook call. They are this node's own: shipping them to Redis would put a round trip on
   every request to answer an admin page.

Placement: Litestar 2 applies app-level ``middleware=[...]`` per route, after routing (see
``litestar._asgi.routing_trie.mapping.build_route_middleware_stack``): one instance per route and
method, with ``scope["path_template"]`` already set. The middleware uses that to resolve the
route's statistics cell, per-route limit and header set once per instance. The consequence is
that requests the router rejects itself (404 unknown path, 405 wrong method) do not pass through
here; they are cheap, carry no data, and are answered by the app's problem+json handlers.

Shared state lives in one :class:`RequestPipeline`, the ``pipeline`` provider of the composition
root (:class:`automatos.container.Container`): the limiter and the cached settings-derived values,
with the container's :class:`~automatos.api.stats.RouteStats` (``route_stats``). The plugin fetches
it once when the app is built (:func:`build_middleware`) and every middleware instance keeps a
reference: a request resolves nothing.

One module on purpose, longer than most: the point is that these concerns run as one callable.
"""

from __future__ import annotations

import ipaddress
import itertools
import logging
import math
import os
import re
import time
from collections.abc import Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import msgspec
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter, RateLimiter, SlidingWindowCounterRateLimiter
from litestar import Response
from litestar.datastructures import Headers
from litestar.middleware.base import DefineMiddleware

from automatos.api.body import BodyGuard, decodes_json
from automatos.api.dependencies import authenticate
from automatos.api.openai_errors import OPENAI_PREFIX, openai_error
from automatos.api.problems import PROBLEM_JSON, TYPE_BASE
from automatos.api.stats import RouteStats, add_call
from automatos.kernel.errors import AuthenticationError
from automatos.kernel.logging import PRINCIPAL_ID, REQUEST_ID, WORKSPACE_ID
from automatos.kernel.memory_limiter import SlidingWindowCounter
from automatos.kernel.metrics import HOOK_TIMES, observe_request
from automatos.kernel.rate_limit_syntax import parse_rate_limit

if TYPE_CHECKING:
    from limits import RateLimitItem
    from litestar.types import (
        ASGIApp,
        HTTPResponseBodyEvent,
        HTTPResponseStartEvent,
        Message,
        Receive,
        Scope,
        Send,
    )

    from automatos.kernel.core import Kernel
    from automatos.kernel.settings import Settings

__all__ = [
    "DEFAULT_STRATEGY",
    "EXPOSED_HEADERS",
    "STRATEGIES",
    "RequestMiddleware",
    "RequestPipeline",
    "build_middleware",
    "edge_headers",
    "rate_limit_headers",
    "slow_down",
]

log = logging.getLogger("automatos.api.middleware")

EXEMPT_PATHS = frozenset({"/health", "/health/ready", "/metrics"})
"""Liveness, readiness and the Prometheus scrape (which checks its own token): never rate limited,
never authenticated here."""
EXPOSED_HEADERS = "X-Routing-Agent-ID, X-Routing-Confidence, X-Request-ID"
ALLOWED_METHODS = b"GET, POST, PUT, PATCH, DELETE, OPTIONS"
DEFAULT_ALLOWED_HEADERS = b"Authorization, Content-Type, X-API-Key, X-Workspace-ID, X-Request-ID, X-Admin-Override"
PREFLIGHT_MAX_AGE = b"600"
STORAGE_RETRY_SECONDS = 1.0
"""After a limiter storage failure, requests pass unchecked this long before it is tried again."""
WARNING_INTERVAL_SECONDS = 30.0
STRATEGIES: dict[str, type[RateLimiter]] = {
    "sliding-window-counter": SlidingWindowCounterRateLimiter,
    "fixed-window": FixedWindowRateLimiter,
}
"""O(1) strategies of ``limits`` (never its moving window: a list of timestamps per client)."""
DEFAULT_STRATEGY = "sliding-window-counter"
"""No burst of twice the limit across a window boundary, for ~5 µs/request more than a fixed window
in memory (on Redis one round trip, :data:`_SLIDING_HIT`; the fixed window takes two)."""
MAX_BLOCKED = 10_000
"""Clients remembered as over their limit (refused locally until their reset time)."""
REDIS_TIMEOUT_SECONDS = 0.5
"""A hung Redis delays a request at most this long before the limiter fails open."""

_REQUEST_ID_OK = re.compile(r"[A-Za-z0-9._:-]{1,64}").fullmatch
_HEADER_LIST_OK = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~, -]{1,1024}").fullmatch
_PATH_PARAM = re.compile(r"\{[^}]*\}")
_NO_BODY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (
        b"permissions-policy",
        b"accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
        b"payment=(), usb=()",
    ),
)
_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
_HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")
_VARY_ORIGIN = (b"vary", b"Origin")
_EXPOSE = (b"access-control-expose-headers", EXPOSED_HEADERS.encode())
_WWW_AUTHENTICATE = (b"www-authenticate", b'Bearer realm="automatos", error="invalid_token"')
_JSON_PROBLEM = (b"content-type", PROBLEM_JSON.encode())
_CONNECTION_CLOSE = (b"connection", b"close")
_encode = msgspec.json.Encoder().encode
_now = time.perf_counter


# -- rate-limit storage ---------------------------------------------------------------------------


def _memory_storage() -> MemoryStorage:
    """``limits``' in-process storage with its expiry sweep run at most once a second.

    The stock storage schedules a sweep over EVERY key whenever the previous sweep has finished,
    which under load is once per request: O(number of clients) per request (measured: 5 µs with one
    client, 118 µs with 10,000). Expired counters are already ignored on read, so the sweep only
    reclaims memory and once a second is plenty. The throttle is set on the instance, not in a
    subclass: ``limits`` wraps every storage method again in each subclass, which would double the
    per-call wrappers on the hot path. If ``limits`` renames the hook, the attribute is simply
    unused and the stock behaviour returns.
    """
    storage = MemoryStorage()
    sweep = getattr(storage, "_MemoryStorage__schedule_expiry", None)
    if sweep is None:
        return storage
    next_sweep = 0.0

    async def throttled_sweep() -> None:
        nonlocal next_sweep
        now = time.monotonic()
        if now >= next_sweep:
            next_sweep = now + 1.0
            await sweep()

    storage._MemoryStorage__schedule_expiry = throttled_sweep  # type: ignore[attr-defined]
    return storage


def _limits_uri(redis_url: str) -> str:
    """``redis://…`` → ``async+redis://…`` (and the ``rediss``/``unix`` forms)."""
    if redis_url.startswith("unix://"):
        return "async+redis+unix://" + redis_url[len("unix://") :]
    return "async+" + redis_url


def _storage(settings: Settings) -> Storage:
    if not settings.redis_url:
        return _memory_storage()
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    return RedisStorage(
        _limits_uri(settings.redis_url),
        implementation="redispy",
        wrap_exceptions=True,
        key_prefix="automatos:ratelimit",
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        retry=Retry(NoBackoff(), 0),  # type: ignore[arg-type]  # fail open now, not after backoffs
        max_connections=256,
    )


@lru_cache(maxsize=256)
def _parse_limit(text: str) -> RateLimitItem | None:
    # the strict grammar every writer validates with: a value stored before it existed (``0/minute``,
    # ``1/999999999999999 day``) is ignored here, never handed to a counter it would break
    try:
        return parse_rate_limit(text)
    except ValueError as exc:
        log.warning("ignoring rate limit: %s", exc)
        return None


def _item_fault(exc: BaseException) -> bool:
    """Whether the limiter refused this one limit (a bad value) rather than being unreachable."""
    cause = getattr(exc, "storage_error", None) or exc  # ``wrap_exceptions`` keeps the original here
    if isinstance(cause, (ValueError, ArithmeticError, TypeError)):
        return True
    return any(cls.__name__ == "ResponseError" for cls in type(cause).__mro__)  # Redis answered: an error


_ID_BATCH = 256
"""Request ids drawn from one ``os.urandom`` call: a system call per request cost ~0.8 µs more."""


def _id_batch() -> tuple[bytearray, Iterator[int]]:
    """A fresh batch of random uuid4s (version and variant bits set), 16 bytes each, and its cursor.

    The cursor is an :func:`itertools.count`, whose ``next`` is atomic under the GIL: two threads
    (an app served from a test client's portal thread, say) never take the same id.
    """
    pool = bytearray(os.urandom(16 * _ID_BATCH))
    for at in range(0, len(pool), 16):
        pool[at + 6] = pool[at + 6] & 0x0F | 0x40
        pool[at + 8] = pool[at + 8] & 0x3F | 0x80
    return pool, itertools.count(0, 16)


_ids: tuple[bytearray, Iterator[int]] = (bytearray(), itertools.count(0, 16))


def _forget_ids() -> None:
    """After ``fork`` the child must not hand out its parent's remaining ids (duplicates)."""
    global _ids
    _ids = (bytearray(), itertools.count(0, 16))


os.register_at_fork(after_in_child=_forget_ids)


def _new_request_id() -> str:
    """A uuid4 in hex, from ``os.urandom`` (``uuid.uuid4().hex`` costs three times as much).

    Each id is handed out once: a batch's bytes are taken 16 at a time by its own cursor, a spent
    batch is replaced, and a forked child starts with an empty one.
    """
    global _ids
    pool, cursor = _ids
    at = next(cursor)
    if at >= len(pool):
        pool, cursor = _ids = _id_batch()
        at = next(cursor)
    return pool[at : at + 16].hex()


def _route_key(method: str, template: str) -> str:
    """``GET /api/workspaces/{workspace_id:str}/`` → ``GET /api/workspaces/{}`` (names and types ignored)."""
    path = _PATH_PARAM.sub("{}", template).rstrip("/") or "/"
    return f"{method.upper()} {path}"


_SLIDING_HIT = """
-- limits' acquire_sliding_window.lua (same keys, same arithmetic), then what its sliding_window.lua
-- reads, after the hit: the counts and TTLs get_window_stats needs, in the same round trip.
local limit = tonumber(ARGV[1])
local expiry = tonumber(ARGV[2]) * 1000
local amount = tonumber(ARGV[3])
local acquired = 0
if amount <= limit then
    local current_ttl = tonumber(redis.call('pttl', KEYS[2]))
    if current_ttl > 0 and current_ttl < expiry then
        redis.call('rename', KEYS[2], KEYS[1])
        redis.call('set', KEYS[2], 0, 'PX', current_ttl + expiry)
    end
    local previous_count = tonumber(redis.call('get', KEYS[1])) or 0
    local previous_ttl = tonumber(redis.call('pttl', KEYS[1])) or 0
    local current_count = tonumber(redis.call('get', KEYS[2])) or 0
    current_ttl = tonumber(redis.call('pttl', KEYS[2])) or 0
    if previous_ttl <= 0 then previous_ttl = 0 end
    if current_ttl <= 0 then current_ttl = 0 end
    local weighted_count = math.floor(previous_count * previous_ttl / expiry) + current_count
    if (weighted_count + amount) <= limit then
        if redis.call('exists', KEYS[2]) == 1 then
            redis.call('incrby', KEYS[2], amount)
        else
            redis.call('set', KEYS[2], amount, 'PX', expiry * 2)
        end
        acquired = 1
    end
end
local current_ttl = redis.call('pttl', KEYS[2])
if current_ttl > 0 and current_ttl < expiry then
    redis.call('rename', KEYS[2], KEYS[1])
    redis.call('set', KEYS[2], 0, 'PX', current_ttl + expiry)
end
return {acquired, redis.call('get', KEYS[1]), redis.call('pttl', KEYS[1]),
        redis.call('get', KEYS[2]), redis.call('pttl', KEYS[2])}
"""
"""One ``EVALSHA`` per hit with Redis and the sliding window: ``limits``' ``hit`` answers only a
boolean, so the counts for ``RateLimit-Remaining``/``-Reset`` cost a second round trip
(``get_window_stats``). Same keys as ``limits`` (``{key}`` and ``{key}/-1`` under its prefix), so
nodes running either code share the counts."""


def _sliding_stats(item: RateLimitItem, window: list[Any], now: float) -> tuple[float, int]:
    """``(reset time, remaining)`` from the script's counts and TTLs, as ``limits``'
    ``SlidingWindowCounterRateLimiter.get_window_stats`` computes them."""
    previous_count = int(window[1] or 0)
    previous_expires_in = max(0.0, float(window[2] or 0)) / 1000
    current_count = int(window[3] or 0)
    current_expires_in = max(0.0, float(window[4] or 0)) / 1000
    expiry = item.get_expiry()
    weighted = previous_count * previous_expires_in / expiry + current_count
    remaining = max(0, item.amount - math.floor(weighted))
    if not (previous_count or current_count):
        return now, remaining
    # a remainder of exactly 0 is a whole period, not "now": read in the script that has just set the
    # key, the TTL is exactly twice the window (limits reads it a round trip later, a millisecond less)
    previous_step = expiry / previous_count if previous_count else math.inf
    previous_reset_in = (previous_expires_in % previous_step or previous_step) if previous_count else math.inf
    current_reset_in = (current_expires_in % expiry or expiry) if current_count else math.inf
    return now + min(previous_reset_in, current_reset_in), remaining


# -- shared state ---------------------------------------------------------------------------------


class _Route:
    """What one middleware instance knows about its route for one method; built on first call."""

    __slots__ = (
        "cell",
        "docs",
        "exempt",
        "headers",
        "hooks",
        "json_body",
        "key",
        "limit",
        "limit_key",
        "reads_body",
        "routes_seen",
    )

    def __init__(self, key: str, template: str, pipeline: RequestPipeline, scope: Scope) -> None:
        self.key = key
        method = key.split(" ", 1)[0]
        self.limit_key = _route_key(method, key.split(" ", 1)[1])
        self.exempt = template in EXEMPT_PATHS
        self.docs = template == "/schema" or template.startswith("/schema/")
        self.headers = pipeline.docs_headers if self.docs else pipeline.api_headers
        self.cell = pipeline.stats.cell(key)
        self.hooks = pipeline.stats.hook_times(key)
        self.routes_seen: tuple[str, ...] | None = None
        self.limit: RateLimitItem | None = None
        # bodies are guarded (read timeout, JSON depth) only where a body is expected: GET costs nothing
        self.reads_body = method not in _NO_BODY_METHODS
        self.json_body = self.reads_body and decodes_json(scope.get("route_handler"))


class RequestPipeline:
    """The state shared by every :class:`RequestMiddleware` instance: one per process (container).

    ``strategy`` is a name in :data:`STRATEGIES`; both are O(1) per request.
    """

    def __init__(self, kernel: Kernel, stats: RouteStats, *, strategy: str = DEFAULT_STRATEGY) -> None:
        settings = kernel.settings
        self.kernel = kernel
        self.overrides = kernel.overrides
        self.stats = stats
        self.requests = kernel.metrics.requests
        """The kernel's request table for ``/metrics`` (:mod:`automatos.kernel.metrics`)."""
        base = list(_SECURITY_HEADERS)
        if settings.environment == "production":
            base.append(_HSTS)
        self.docs_headers: tuple[tuple[bytes, bytes], ...] = tuple(base)
        self.api_headers: tuple[tuple[bytes, bytes], ...] = (*base, _CSP)
        self.networks = tuple(ipaddress.ip_network(item.strip(), strict=False) for item in settings.trusted_proxies)
        self._trusted: dict[str, bool] = {}
        self._origins_seen: tuple[str, ...] | None = None
        self._allowed: frozenset[str] = frozenset()
        self._allow_any = False
        self._default_seen: str | None = None
        self._default: RateLimitItem | None = None
        self._routes_seen: tuple[str, ...] | None = None
        self._route_limits: dict[str, RateLimitItem] = {}
        self.strategy: type[RateLimiter] = STRATEGIES[DEFAULT_STRATEGY]
        self._limiter: RateLimiter | None = None
        self.use_strategy(strategy)
        self._sliding_hit: Any = None
        """:data:`_SLIDING_HIT` registered on the limiter's Redis connection, when that is the limiter."""
        self._blocked: dict[str, tuple[float, RateLimitItem]] = {}
        self._local: SlidingWindowCounter | None = None if settings.redis_url else SlidingWindowCounter()
        self._down_until = 0.0
        self._warned_at = 0.0
        self._suppressed = 0
        self._bad_items: set[str] = set()

    def use_strategy(self, name: str) -> None:
        """Count with the strategy ``name`` of :data:`STRATEGIES` from the next request on."""
        if name not in STRATEGIES:
            raise ValueError(f"rate-limit strategy {name!r} is not one of {', '.join(STRATEGIES)}")
        if self.strategy is not STRATEGIES[name]:
            self.strategy = STRATEGIES[name]
            self._limiter = None

    # -- settings-derived values, recomputed only when the settings object changes ---------------

    def origin_allowed(self, origins: tuple[str, ...], origin: str) -> bool:
        if origins is not self._origins_seen:
            self._allowed = frozenset(o.strip().rstrip("/") for o in origins)
            self._allow_any = "*" in self._allowed
            self._origins_seen = origins
        return self._allow_any or origin in self._allowed

    def default_limit(self, settings: Settings) -> RateLimitItem | None:
        text = settings.rate_limit_default
        if text is not self._default_seen:
            self._default = _parse_limit(text)
            self._default_seen = text
        return self._default

    def route_limit(self, route: _Route, routes: tuple[str, ...]) -> RateLimitItem | None:
        if routes is not self._routes_seen:
            table: dict[str, RateLimitItem] = {}
            for entry in routes:
                target, _, text = entry.rpartition("=")
                method, _, path = target.strip().partition(" ")
                item = _parse_limit(text.strip())
                if item is not None and method and path:
                    table[_route_key(method, path.strip())] = item
            self._route_limits = table
            self._routes_seen = routes
        route.limit = self._route_limits.get(route.limit_key)
        route.routes_seen = routes
        return route.limit

    # -- client identity --------------------------------------------------------------------------

    def is_trusted(self, host: str) -> bool:
        known = self._trusted.get(host)
        if known is None:
            try:
                address = ipaddress.ip_address(host)
            except ValueError:
                known = False
            else:
                known = any(address in network for network in self.networks)
            if len(self._trusted) > 4096:
                self._trusted.clear()
            self._trusted[host] = known
        return known

    def client_address(self, scope: Scope, headers: Headers) -> str:
        """The peer, or with a trusted peer the right-most untrusted ``X-Forwarded-For`` entry."""
        client = scope.get("client")
        peer = client[0] if client else "unknown"
        if not self.networks or not self.is_trusted(peer):
            return peer
        forwarded = headers.getall("x-forwarded-for", None)
        if not forwarded:
            return peer
        hops = [hop.strip() for value in forwarded for hop in value.split(",")]
        for hop in reversed(hops):
            if hop and not self.is_trusted(hop):
                return hop[:64]
        return next((hop for hop in hops if hop), peer)[:64]

    # -- limiter ------------------------------------------------------------------------------------

    @property
    def limiter(self) -> RateLimiter:
        if self._limiter is None:
            limiter = self._limiter = self.strategy(_storage(self.kernel.settings))
            self._sliding_hit = None
            storage = limiter.storage
            if isinstance(limiter, SlidingWindowCounterRateLimiter) and isinstance(storage, RedisStorage):
                connection = getattr(storage.bridge, "get_connection", None)
                if connection is not None:  # the redis-py bridge (``_storage`` asks for it)
                    self._sliding_hit = connection().register_script(_SLIDING_HIT)
        return self._limiter

    async def take(
        self, item: RateLimitItem, client: str, route_key: str | None = None
    ) -> tuple[bool, int, int] | None:
        """Count one hit: ``(allowed, remaining, reset seconds)``, or ``None`` when the storage is down.

        ``reset`` is the ``Retry-After`` of a refused hit. A client found over a limit is remembered
        here until the limit's reset time: its further requests are refused without asking the
        storage (no Redis round trip per rejected request while one client hammers the API). That
        never lets through more than the storage would: a refused hit does not count, so until the
        reset time the shared counter can only stay over the limit.
        """
        key = client if route_key is None else f"{client} {route_key}"
        if self._local is not None and self.strategy is SlidingWindowCounterRateLimiter:
            # one process, no shared store: the in-process counter (same algorithm, ~1 µs)
            try:
                return self._local.take(key, item.amount, float(item.get_expiry()))
            except (ArithmeticError, ValueError) as exc:
                self._item_failed(item, exc)
                return None
        blocked = self._blocked
        if blocked:
            entry = blocked.get(key)
            if entry is not None:
                until, blocked_item = entry
                remaining = until - time.time()
                if remaining > 0 and blocked_item is item:
                    return False, 0, max(1, math.ceil(remaining))
                del blocked[key]
        if self._down_until:
            if time.monotonic() < self._down_until:
                return None
            self._down_until = 0.0
        limiter = self.limiter
        identifiers = (client,) if route_key is None else (client, route_key)
        try:
            if self._sliding_hit is not None:  # Redis: the hit and its counts in one round trip
                current = limiter.storage.bridge.prefixed_key(f"{{{item.key_for(*identifiers)}}}")  # type: ignore[attr-defined]
                window = await self._sliding_hit([f"{current}/-1", current], [item.amount, item.get_expiry(), 1])
                allowed = bool(window[0])
                now = time.time()
                reset_time, remaining = _sliding_stats(item, window, now)
            else:
                allowed = await limiter.hit(item, *identifiers)
                # a second call (a second round trip on Redis): ``limits`` reports no counts from a hit
                stats = await limiter.get_window_stats(item, *identifiers)
                now = time.time()
                reset_time, remaining = stats.reset_time, stats.remaining
        except Exception as exc:
            if _item_fault(exc):  # this limit's problem: every other client stays limited
                self._item_failed(item, exc)
            else:
                self._storage_failed(exc)
            return None
        reset = max(1, math.ceil(reset_time - now))
        if allowed:
            return True, remaining, reset
        if len(blocked) >= MAX_BLOCKED:
            for stale in [k for k, (until, _) in blocked.items() if until <= now]:
                del blocked[stale]
            if len(blocked) >= MAX_BLOCKED:
                blocked.clear()
        blocked[key] = (reset_time, item)
        return False, 0, reset

    def _item_failed(self, item: RateLimitItem, exc: BaseException) -> None:
        """One limit the storage cannot count: it alone goes unchecked, logged once per limit."""
        text = str(item)
        if text not in self._bad_items and len(self._bad_items) < 256:
            self._bad_items.add(text)
            log.warning("rate limit %s cannot be counted (%s: %s); it is not enforced", text, type(exc).__name__, exc)

    def _storage_failed(self, exc: Exception) -> None:
        now = time.monotonic()
        self._down_until = now + STORAGE_RETRY_SECONDS
        if now - self._warned_at >= WARNING_INTERVAL_SECONDS:
            log.warning(
                "rate-limit storage failed (%s: %s); requests pass unchecked until it answers%s",
                type(exc).__name__,
                exc,
                f" ({self._suppressed} similar warnings suppressed)" if self._suppressed else "",
            )
            self._warned_at = now
            self._suppressed = 0
        else:
            self._suppressed += 1

    async def aclose(self) -> None:
        """Close the limiter's Redis connections (a later request opens new ones)."""
        limiter, self._limiter = self._limiter, None
        if limiter is None or not isinstance(limiter.storage, RedisStorage):
            return
        client = getattr(limiter.storage.bridge, "storage", None)
        if client is not None:
            try:
                await client.aclose()
            except Exception as exc:
                log.warning("closing the rate-limit Redis client failed: %s", exc)


# -- the middleware -------------------------------------------------------------------------------


class RequestMiddleware:
    """Pure ASGI; one instance per route and method (see the module docstring)."""

    __slots__ = ("app", "pipeline", "routes")

    def __init__(self, app: ASGIApp, pipeline: RequestPipeline) -> None:
        self.app = app
        self.pipeline = pipeline
        self.routes: dict[str, _Route] = {}

    def _route(self, scope: Scope, method: str) -> _Route:
        template = scope.get("path_template")
        if not template:  # placed outside the router: per-path decisions, statistics as "other"
            return _Route(f"{method} {RouteStats.OTHER}", scope["path"], self.pipeline, scope)
        route = self.routes[method] = _Route(f"{method} {template}", template, self.pipeline, scope)
        return route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = _now()
        pipeline = self.pipeline
        method: str = scope["method"]  # type: ignore[typeddict-item]  # an HTTP scope
        route = self.routes.get(method) or self._route(scope, method)
        if route.exempt:  # health probes: nothing to add, nothing to check, as cheap as bare
            await self.app(scope, receive, send)
            return
        headers = Headers.from_scope(scope)
        state = scope["state"]

        request_id = headers.get("x-request-id")
        if request_id is None or _REQUEST_ID_OK(request_id) is None:
            request_id = _new_request_id()
        state["request_id"] = request_id
        rid_header = (b"x-request-id", request_id.encode())

        settings = pipeline.overrides.current
        cors: tuple[tuple[bytes, bytes], ...] = ()
        if settings.cors_allow_origins:
            origin = headers.get("origin")
            if origin is None:
                cors = (_VARY_ORIGIN,)
            else:
                allowed = pipeline.origin_allowed(settings.cors_allow_origins, origin)
                if method == "OPTIONS" and "access-control-request-method" in headers:
                    await self._preflight(send, route, rid_header, headers, origin, allowed, started)
                    return
                if allowed:
                    cors = ((b"access-control-allow-origin", origin.encode("latin-1")), _EXPOSE, _VARY_ORIGIN)
                else:
                    cors = (_VARY_ORIGIN,)

        rid_token = REQUEST_ID.set(request_id)
        principal_token = PRINCIPAL_ID.set(None)
        workspace_token = WORKSPACE_ID.set(None)
        hooks_token = HOOK_TIMES.set(route.hooks)  # the facade times each hook call into the route's table
        status = 0
        rate: tuple[tuple[bytes, bytes], ...] = ()
        try:
            principal = None
            if not route.exempt:
                try:
                    principal = await authenticate(pipeline.kernel, headers)
                except AuthenticationError as exc:
                    # wrong credentials count against the caller's address: guessing is limited too
                    guesser = "ip:" + pipeline.client_address(scope, headers)
                    item = pipeline.default_limit(settings)
                    verdict = await pipeline.take(item, guesser) if item is not None else None
                    rate = _rate_headers(item, verdict) if item is not None and verdict is not None else ()
                    if item is not None and verdict is not None and not verdict[0]:
                        status = 429
                        limited_body = _limited_body(item, verdict[2], None, scope["path"])
                        await _send_problem(send, 429, limited_body, (*route.headers, rid_header, *cors, *rate))
                        return
                    status = exc.status_code
                    body: dict[str, Any] = {
                        "type": TYPE_BASE + exc.type_slug,
                        "title": exc.title,
                        "status": status,
                        "detail": exc.detail,
                    }
                    if exc.field is not None:
                        body["field"] = exc.field
                    body.update(exc.extra)
                    if scope["path"].startswith(OPENAI_PREFIX):  # OpenAI clients read the reason from `error`
                        body["error"] = openai_error(body)
                    await _send_problem(
                        send, status, body, (*route.headers, rid_header, *cors, *rate, _WWW_AUTHENTICATE)
                    )
                    return
                if principal is not None:
                    PRINCIPAL_ID.set(principal.id)
                # the client's general limit: one hit, one round trip (plus one on per-route-limited routes)
                client = (
                    "p:" + principal.id if principal is not None else "ip:" + pipeline.client_address(scope, headers)
                )
                rate = ()
                route_verdict = None
                if settings.rate_limit_routes:
                    route_verdict = await self._route_limited(route, settings, client)
                    if route_verdict is not None:
                        item, verdict = route_verdict
                        rate = _rate_headers(item, verdict)
                        if not verdict[0]:
                            status = 429
                            body = _limited_body(item, verdict[2], route.limit_key, scope["path"])
                            await _send_problem(send, 429, body, (*route.headers, rid_header, *cors, *rate))
                            return
                item = _parse_limit(principal.rate_limit) if principal is not None and principal.rate_limit else None
                if item is None:
                    item = pipeline.default_limit(settings)
                if item is not None:
                    verdict = await pipeline.take(item, client)
                    if verdict is not None:
                        if not verdict[0]:
                            status = 429
                            rate = _rate_headers(item, verdict)
                            body = _limited_body(item, verdict[2], None, scope["path"])
                            await _send_problem(send, 429, body, (*route.headers, rid_header, *cors, *rate))
                            return
                        # both passed: the headers of whichever limit has less room left
                        if route_verdict is None or verdict[1] < route_verdict[1][1]:
                            rate = _rate_headers(item, verdict)
            state["principal"] = principal
            extra = (*route.headers, rid_header, *cors, *rate)
            guard = None
            if route.reads_body and ("content-length" in headers or "transfer-encoding" in headers):
                guard = BodyGuard(
                    receive,
                    settings.http_body_timeout_seconds,
                    settings.json_max_depth if route.json_body else None,
                )
                receive = guard

            async def send_with_headers(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    if guard is not None and guard.timed_out:  # the rest of the body is not coming: hang up
                        message["headers"] = [*message.get("headers", ()), *extra, _CONNECTION_CLOSE]
                    else:
                        message["headers"] = [*message.get("headers", ()), *extra]
                await send(message)

            try:
                await self.app(scope, receive, send_with_headers)
            except Exception:
                if not status:
                    status = 500
                raise
        finally:
            REQUEST_ID.reset(rid_token)
            PRINCIPAL_ID.reset(principal_token)
            WORKSPACE_ID.reset(workspace_token)
            HOOK_TIMES.reset(hooks_token)
            elapsed = _now() - started
            add_call(route.cell, elapsed, status >= 500)
            observe_request(pipeline.requests, route.key, elapsed, status)  # /metrics (kernel/metrics.py)

    async def _route_limited(
        self, route: _Route, settings: Settings, client: str
    ) -> tuple[RateLimitItem, tuple[bool, int, int]] | None:
        """The route's own limit (``RATE_LIMIT_ROUTES``), checked before the general one."""
        routes = settings.rate_limit_routes
        item = route.limit if route.routes_seen is routes else self.pipeline.route_limit(route, routes)
        if item is None:
            return None
        verdict = await self.pipeline.take(item, client, route.limit_key)
        return None if verdict is None else (item, verdict)

    async def _preflight(
        self,
        send: Send,
        route: _Route,
        rid_header: tuple[bytes, bytes],
        headers: Headers,
        origin: str,
        allowed: bool,
        started: float,
    ) -> None:
        """Answer a CORS preflight: 204 with the allow headers, or 403 for an origin not allowed."""
        try:
            if not allowed:
                body = {
                    "type": TYPE_BASE + "cors-origin",
                    "title": "Forbidden",
                    "status": 403,
                    "detail": f"origin {origin!r} is not allowed by CORS_ALLOW_ORIGINS",
                    "field": "Origin",
                }
                await _send_problem(send, 403, body, (*route.headers, rid_header, _VARY_ORIGIN))
                return
            requested = headers.get("access-control-request-headers", "")
            allow_headers = requested.encode("latin-1") if _HEADER_LIST_OK(requested) else DEFAULT_ALLOWED_HEADERS
            response_headers = [
                *route.headers,
                rid_header,
                (b"access-control-allow-origin", origin.encode("latin-1")),
                (b"access-control-allow-methods", ALLOWED_METHODS),
                (b"access-control-allow-headers", allow_headers),
                (b"access-control-max-age", PREFLIGHT_MAX_AGE),
                (b"vary", b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
                (b"content-length", b"0"),
            ]
            await send(_start(204, response_headers))
            await send(_body(b""))
        finally:
            add_call(route.cell, time.perf_counter() - started, False)


def _rate_headers(item: RateLimitItem, verdict: tuple[bool, int, int]) -> tuple[tuple[bytes, bytes], ...]:
    """``RateLimit-Limit``/``-Remaining``/``-Reset`` (IETF draft), plus ``Retry-After`` when refused."""
    allowed, remaining, reset = verdict
    reset_value = b"%d" % reset
    headers = (
        (b"ratelimit-limit", _limit_value(item.amount)),
        (b"ratelimit-remaining", b"%d" % remaining),
        (b"ratelimit-reset", reset_value),
    )
    return headers if allowed else (*headers, (b"retry-after", reset_value))


@lru_cache(maxsize=64)
def _limit_value(amount: int) -> bytes:
    return b"%d" % amount


def rate_limit_headers(item: RateLimitItem, verdict: tuple[bool, int, int]) -> dict[str, str]:
    """The RateLimit-* (and Retry-After) headers as a Litestar response takes them."""
    return {name.decode(): value.decode() for name, value in _rate_headers(item, verdict)}


def slow_down(item: RateLimitItem, verdict: tuple[bool, int, int], route: str | None) -> Response[dict[str, Any]]:
    """A 429 problem+json as a Litestar response, for a handler that limits itself (``/health/ready``)."""
    body = _limited_body(item, verdict[2], route)
    return Response(body, status_code=429, media_type=PROBLEM_JSON, headers=rate_limit_headers(item, verdict))


def _limited_body(item: RateLimitItem, retry: int, route: str | None, path: str = "") -> dict[str, Any]:
    """The 429 problem+json; on ``/v1/…`` with OpenAI's ``error`` member too, as the 401s there."""
    scope = f" on {route}" if route else ""
    body: dict[str, Any] = {
        "type": TYPE_BASE + "rate-limited",
        "title": "Too many requests",
        "status": 429,
        "detail": f"rate limit of {item} exceeded for this client{scope}; retry in {retry} s",
        "limit": str(item),
        "retry_after": retry,
    }
    if path.startswith(OPENAI_PREFIX):  # OpenAI clients (RateLimitError) read the reason from `error`
        body["error"] = openai_error(body)
    return body


async def _send_problem(
    send: Send, status: int, body: dict[str, Any], headers: tuple[tuple[bytes, bytes], ...]
) -> None:
    """A problem+json response built below Litestar (same shape as :func:`automatos.api.problems.problem`)."""
    payload = _encode(body)
    await send(_start(status, [_JSON_PROBLEM, (b"content-length", str(len(payload)).encode()), *headers]))
    await send(_body(payload))


def _start(status: int, headers: list[tuple[bytes, bytes]]) -> HTTPResponseStartEvent:
    return {"type": "http.response.start", "status": status, "headers": headers}


def _body(payload: bytes) -> HTTPResponseBodyEvent:
    return {"type": "http.response.body", "body": payload, "more_body": False}


# -- wiring ---------------------------------------------------------------------------------------


def edge_headers(pipeline: RequestPipeline, scope: Scope) -> dict[str, str]:
    """Headers for a response the middleware never saw: the router's own 404/405.

    Litestar runs app middleware after routing, so a request for no route (or a wrong method) is
    answered by the exception handlers alone; they add these so that every response still carries a
    request id and the security headers.
    """
    state = scope.get("state") or {}
    request_id = state.get("request_id")
    if request_id is None:
        given = Headers.from_scope(scope).get("x-request-id")
        request_id = given if given and _REQUEST_ID_OK(given) else _new_request_id()
    headers = {name.decode(): value.decode() for name, value in pipeline.api_headers}
    headers["x-request-id"] = request_id
    return headers


def build_middleware(pipeline: RequestPipeline) -> DefineMiddleware:
    """For ``Litestar(middleware=[build_middleware(pipeline)])`` or ``app_config.middleware.append``.

    ``pipeline`` is the container's (``container.pipeline()``); close it with
    :meth:`RequestPipeline.aclose` when the app shuts down (the plugin's lifespan does).
    """
    return DefineMiddleware(RequestMiddleware, pipeline=pipeline)
