"""Settings: one msgspec Struct read from the environment.

Decisions:
- The seed's variable names are accepted as they are (``DATABASE_URL`` or ``POSTGRES_*``,
  ``REDIS_URL`` or ``REDIS_*``, ``AWS_*``…), so an existing deployment's environment works unchanged.
- The embedded default needs nothing: SQLite file, in-process cache and pub/sub, local storage,
  all under ``AUTOMATOS_DATA_DIR`` (``./automatos-data``).
- A malformed value stops startup with a :class:`SettingsError` naming the variable and the form
  it expects; an unknown ``AUTOMATOS_*`` variable is not an error (extensions read their own).
- Settings marked ``runtime`` in :data:`FIELDS` may be overridden at run time from the
  ``system_settings`` table (see :mod:`automatos.kernel.overrides`); the rest need a restart.
- Secrets are :class:`Secret` values whose ``repr`` never shows the value, so a logged settings
  object leaks nothing.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import msgspec

from automatos.kernel.errors import SettingsError

__all__ = ["FIELDS", "FieldDoc", "Secret", "Settings", "load_settings"]


class Secret(str):
    """A string that does not show itself in ``repr``/``str`` formatting of containers or logs."""

    def __repr__(self) -> str:
        return "Secret('**********')" if self else "Secret('')"

    def reveal(self) -> str:
        return str.__str__(self)


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every setting of the kernel and its built-in extensions; see the README table."""

    environment: str = "development"
    """``development`` or ``production``; reported by ``/health/ready``; production adds HSTS."""
    data_dir: Path = Path("automatos-data")
    """Where the embedded default keeps its SQLite file and local blob storage."""
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    log_level: str = "INFO"

    database_url: str = ""
    """SQLAlchemy async URL; empty means ``sqlite+aiosqlite:///<data_dir>/automatos.db``."""
    database_pool_size: int = 10
    """Connections each API process keeps open to the database (SQLite files too)."""
    database_pool_timeout: float = 10.0
    """Seconds a request waits for a database connection (its workspace's share, then the pool) before
    it is answered 503 with ``Retry-After``."""
    database_workspace_share: int = 0
    """Most connections of this process's pool one workspace may hold at once; 0 means half the pool
    (``DATABASE_POOL_SIZE // 2``, at least 1). Counted per process."""
    auto_migrate: bool = True
    """Run pending migrations when the server starts (the embedded default relies on it)."""
    redis_url: str | None = None
    """When set, cache/kv, pub/sub and rate limits live in Redis (shared by every node)."""

    blob_backend: str = ""
    """``local`` or ``s3``; empty picks ``s3`` when ``S3_BUCKET`` is set, else ``local``."""
    kv_backend: str = ""
    """``memory`` or ``redis``; empty picks ``redis`` when ``REDIS_URL`` is set."""
    pubsub_backend: str = ""
    """``memory`` or ``redis``; empty picks ``redis`` when ``REDIS_URL`` is set."""
    vector_backend: str = ""
    """``exact`` or ``pgvector``; empty picks ``pgvector`` on PostgreSQL, else ``exact``."""
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_presign_endpoint_url: str | None = None
    """Public endpoint used in pre-signed URLs when it differs from the one the API reaches."""
    aws_access_key_id: Secret | None = None
    aws_secret_access_key: Secret | None = None
    aws_region: str = "us-east-1"

    openai_api_key: Secret | None = None
    openai_base_url: str | None = None
    """OpenAI endpoint (or an OpenAI-compatible server) the platform key is sent to; empty for
    ``https://api.openai.com/v1``."""
    anthropic_api_key: Secret | None = None
    anthropic_base_url: str | None = None
    """Anthropic endpoint the platform key is sent to; empty for ``https://api.anthropic.com``."""
    llm_allow_private_base_url: bool = False
    """Let a workspace's LLM ``base_url`` reach loopback, private, link-local (cloud metadata) and other
    non-public addresses. Off: such a ``base_url`` is refused when written (422) and when connecting."""
    llm_provider: str = "offline"
    llm_model: str = "offline-echo"
    routing_cache_ttl_hours: float = 24.0
    routing_llm_confidence_threshold: float = 0.7
    cors_allow_origins: tuple[str, ...] = ()

    rate_limit_default: str = "60/minute"
    """Requests per client (API key, user, or IP when anonymous), in ``limits`` notation."""
    rate_limit_routes: tuple[str, ...] = ("POST /api/sandbox/run=30/minute",)
    """Per-route limits, ``METHOD /path/template=LIMIT`` items, e.g. ``POST /api/sandbox/run=10/minute``.
    Setting it replaces the whole list (keep the sandbox route in it)."""
    trusted_proxies: tuple[str, ...] = ()
    """Addresses or CIDRs whose ``X-Forwarded-For`` is believed; empty believes nobody."""
    http_max_header_bytes: int = 65536
    """Largest request line plus headers ``automatos serve`` reads (431 beyond, either HTTP parser)."""
    http_max_headers: int = 100
    """Most request header fields ``automatos serve`` accepts (431 beyond)."""
    http_header_timeout_seconds: float = 10.0
    """Longest a connection may take to send a request's line and headers (then it is closed)."""
    http_body_timeout_seconds: float = 15.0
    """Longest wait for the next piece of a request body (408 and the connection closed)."""
    http_keep_alive_seconds: float = 5.0
    """How long an idle keep-alive connection stays open between requests."""
    json_max_depth: int = 64
    """Deepest nesting of arrays/objects accepted in a JSON request body (400 beyond)."""
    settings_value_max_bytes: int = 65536
    """Largest value (as JSON) a setting may hold: a workspace's ``settings`` document, a platform
    setting, a run-time override (422 naming the field beyond)."""
    log_format: str = "auto"
    """``json`` (one object per line, with request id, principal and workspace), ``text`` (one
    human line with the same ids), or ``auto``: text on a terminal when ``AUTOMATOS_ENV`` is
    ``development``, JSON otherwise."""

    clerk_jwks_url: str | None = None
    """JWKS URL of the identity provider (Clerk-compatible); unset disables JWT auth."""
    jwt_issuer: str | None = None
    """The ``iss`` accepted JWTs must carry (unchecked when unset)."""
    jwt_audience: str | None = None
    """Required ``aud`` of accepted JWTs (unchecked when unset)."""
    jwt_trust_unverified_email: bool = False
    """Link a first JWT login to a user invited by e-mail even when the token lacks
    ``email_verified: true`` (for providers that verify addresses but do not send the claim). Off:
    an unverified address can be typed by anyone, and would take over the invited account."""
    jwks_cache_seconds: float = 600.0
    """How long fetched signing keys are trusted before the JWKS is fetched again."""
    api_key_cache_seconds: float = 60.0
    """How long a node trusts a verified API key without asking the database (revocation is pushed
    to every node at once through the kernel bus; this bounds the damage of a lost message)."""
    api_key_pepper: Secret | None = None
    """Secret mixed into every stored API-key hash. Unset: generated once into
    ``<data_dir>/.api-key-pepper`` (mode 0600). Nodes that do not share a data directory must share
    this value; changing it invalidates every key."""
    secret_key: Secret | None = None
    """Key that encrypts workspace extension configuration (provider keys) at rest: a Fernet key, or
    a random string of at least 32 characters (stretched with HKDF-SHA256). Unset: generated once
    into ``<data_dir>/.secret-key`` (mode 0600). Nodes that do not share a data directory must share
    this value; see ``docs/security.md`` (Secrets at rest) to rotate it."""
    secret_key_previous: Secret | None = None
    """Retired values of ``AUTOMATOS_SECRET_KEY``, comma-separated: still decrypt, never encrypt
    (a row is re-encrypted under the current key when it is next written)."""

    extensions_allow: tuple[str, ...] = ()
    """Entry-point names (glob patterns) allowed to load; empty allows all."""
    extensions_deny: tuple[str, ...] = ()
    """Entry-point names (glob patterns) never loaded; wins over the allow list."""
    extensions_enabled_by_default: bool = True
    """Whether a loaded extension is enabled in a workspace that has not said otherwise."""
    bus_poll_seconds: float = 1.0
    """How often a node reads the bus journal for messages pub/sub did not bring (another process on
    the embedded default, a dropped Redis connection)."""
    recheck_seconds: float = 5.0
    """How often a node re-checks cached views and settings against the database, in case a
    pub/sub invalidation was lost (Redis pub/sub is at-most-once)."""

    sandbox_mode: str = "local"
    """``local``: runs go to this process's own pool of sandbox worker processes. ``queue``: runs
    go to the Redis job queue (``REDIS_URL``) served by ``automatos worker`` processes, possibly on
    other machines."""
    sandbox_pool_size: int = 2
    """Warm sandbox worker processes per API process (local mode) or per ``automatos worker``."""
    sandbox_queue_name: str = "automatos-sandbox"
    """Name of the Redis job queue of sandbox runs (queue mode)."""
    sandbox_workspace_max_share: float = 0.5
    """Fraction of the sandbox workers one workspace's runs may hold at once (at least one worker):
    its further runs wait in line for their share, so a flooding workspace never starves another.
    In queue mode it bounds each submitting process (share of ``SANDBOX_POOL_SIZE``). 1 disables it."""
    sandbox_http_allow_private: bool = False
    """Whether the sandbox's ``http`` capability may reach loopback, private, link-local and other
    non-public addresses (for a deployment whose allowed services live on its own network). Off, a
    workspace's host allow list never opens the platform's network or a cloud metadata endpoint."""

    feature_marketplace: bool = True
    feature_sandbox: bool = True
    feature_semantic_routing: bool = True

    metrics_enabled: str = "auto"
    """Whether ``GET /metrics`` (Prometheus format) is served: ``true``, ``false``, or ``auto`` — on in
    development, off in production. Off, it answers 404."""
    metrics_token: Secret | None = None
    """A bearer token that lets a scraper read ``/metrics`` (compared in constant time); unset, only
    platform admins' credentials may."""
    otel_enabled: bool = False
    """Trace every request with OpenTelemetry (needs the ``otel`` extra). Spans go to the OTLP
    endpoint of the standard ``OTEL_EXPORTER_OTLP_*`` variables; off, tracing costs nothing."""

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'automatos.db').as_posix()}"

    @property
    def is_postgres(self) -> bool:
        return self.resolved_database_url.startswith("postgresql")

    def pick(self, family: str) -> str:
        """The backend name used for ``family`` (``blob``, ``kv``, ``pubsub``, ``vector``)."""
        explicit = getattr(self, f"{family}_backend")
        if explicit:
            return str(explicit)
        if family == "blob":
            return "s3" if self.s3_bucket else "local"
        if family in ("kv", "pubsub"):
            return "redis" if self.redis_url else "memory"
        return "pgvector" if self.is_postgres else "exact"


class FieldDoc(msgspec.Struct, frozen=True):
    env: str
    field: str
    form: str
    runtime: bool = False
    """May be overridden from ``system_settings`` without a restart."""


def _field(env: str, field: str, form: str, runtime: bool = False) -> FieldDoc:
    return FieldDoc(env, field, form, runtime)


# Environment variable -> field. The README settings table is checked against this list in tests.
FIELDS: tuple[FieldDoc, ...] = (
    _field("AUTOMATOS_ENV", "environment", "development|production"),
    _field("AUTOMATOS_DATA_DIR", "data_dir", "path"),
    _field("AUTOMATOS_HOST", "host", "host name or IP"),
    _field("AUTOMATOS_PORT", "port", "integer 1-65535"),
    _field("AUTOMATOS_WORKERS", "workers", "integer >= 1"),
    _field("LOG_LEVEL", "log_level", "DEBUG|INFO|WARNING|ERROR", runtime=True),
    _field("DATABASE_URL", "database_url", "SQLAlchemy URL, e.g. postgresql+asyncpg://u:p@h/db"),
    _field("DATABASE_POOL_SIZE", "database_pool_size", "integer >= 1"),
    _field("DATABASE_POOL_TIMEOUT", "database_pool_timeout", "number > 0"),
    _field("DATABASE_WORKSPACE_SHARE", "database_workspace_share", "integer >= 0"),
    _field("AUTOMATOS_AUTO_MIGRATE", "auto_migrate", "true|false"),
    _field("REDIS_URL", "redis_url", "redis://[:password@]host:port/db"),
    _field("BLOB_BACKEND", "blob_backend", "local|s3|a name an extension registers"),
    _field("KV_BACKEND", "kv_backend", "memory|redis|a name an extension registers"),
    _field("PUBSUB_BACKEND", "pubsub_backend", "memory|redis|a name an extension registers"),
    _field("VECTOR_BACKEND", "vector_backend", "exact|pgvector|a name an extension registers"),
    _field("S3_BUCKET", "s3_bucket", "bucket name"),
    _field("S3_ENDPOINT_URL", "s3_endpoint_url", "URL"),
    _field("S3_PRESIGN_ENDPOINT_URL", "s3_presign_endpoint_url", "URL"),
    _field("AWS_ACCESS_KEY_ID", "aws_access_key_id", "string (secret)"),
    _field("AWS_SECRET_ACCESS_KEY", "aws_secret_access_key", "string (secret)"),
    _field("AWS_REGION", "aws_region", "AWS region name"),
    _field("OPENAI_API_KEY", "openai_api_key", "string (secret)"),
    _field("OPENAI_BASE_URL", "openai_base_url", "http(s) URL"),
    _field("ANTHROPIC_API_KEY", "anthropic_api_key", "string (secret)"),
    _field("ANTHROPIC_BASE_URL", "anthropic_base_url", "http(s) URL"),
    _field("LLM_ALLOW_PRIVATE_BASE_URL", "llm_allow_private_base_url", "true|false"),
    _field("LLM_PROVIDER", "llm_provider", "provider name", runtime=True),
    _field("LLM_MODEL", "llm_model", "model name", runtime=True),
    _field("ROUTING_CACHE_TTL_HOURS", "routing_cache_ttl_hours", "number > 0", runtime=True),
    _field("ROUTING_LLM_CONFIDENCE_THRESHOLD", "routing_llm_confidence_threshold", "number 0-1", runtime=True),
    _field("CORS_ALLOW_ORIGINS", "cors_allow_origins", "comma-separated origins", runtime=True),
    _field("RATE_LIMIT_DEFAULT", "rate_limit_default", "N/[M ]second|minute|hour|day", runtime=True),
    _field("RATE_LIMIT_ROUTES", "rate_limit_routes", "comma-separated METHOD /path=N/period", runtime=True),
    _field("TRUSTED_PROXIES", "trusted_proxies", "comma-separated IPs or CIDRs"),
    _field("HTTP_MAX_HEADER_BYTES", "http_max_header_bytes", "integer >= 1024"),
    _field("HTTP_MAX_HEADERS", "http_max_headers", "integer >= 10"),
    _field("HTTP_HEADER_TIMEOUT_SECONDS", "http_header_timeout_seconds", "number > 0"),
    _field("HTTP_BODY_TIMEOUT_SECONDS", "http_body_timeout_seconds", "number > 0"),
    _field("HTTP_KEEP_ALIVE_SECONDS", "http_keep_alive_seconds", "number > 0"),
    _field("JSON_MAX_DEPTH", "json_max_depth", "integer 2-1000"),
    _field("SETTINGS_VALUE_MAX_BYTES", "settings_value_max_bytes", "integer 256-16777216", runtime=True),
    _field("LOG_FORMAT", "log_format", "auto|json|text"),
    _field("CLERK_JWKS_URL", "clerk_jwks_url", "URL"),
    _field("JWT_ISSUER", "jwt_issuer", "issuer string"),
    _field("JWT_AUDIENCE", "jwt_audience", "audience string"),
    _field("JWT_TRUST_UNVERIFIED_EMAIL", "jwt_trust_unverified_email", "true|false"),
    _field("JWKS_CACHE_SECONDS", "jwks_cache_seconds", "number > 0"),
    _field("API_KEY_CACHE_SECONDS", "api_key_cache_seconds", "number > 0"),
    _field("AUTOMATOS_API_KEY_PEPPER", "api_key_pepper", "string (secret)"),
    _field("AUTOMATOS_SECRET_KEY", "secret_key", "Fernet key or string of 32+ characters (secret)"),
    _field("AUTOMATOS_SECRET_KEY_PREVIOUS", "secret_key_previous", "comma-separated keys (secret)"),
    _field("AUTOMATOS_EXTENSIONS_ALLOW", "extensions_allow", "comma-separated name globs"),
    _field("AUTOMATOS_EXTENSIONS_DENY", "extensions_deny", "comma-separated name globs"),
    _field("AUTOMATOS_EXTENSIONS_ENABLED_BY_DEFAULT", "extensions_enabled_by_default", "true|false"),
    _field("AUTOMATOS_RECHECK_SECONDS", "recheck_seconds", "number > 0"),
    _field("AUTOMATOS_BUS_POLL_SECONDS", "bus_poll_seconds", "number > 0"),
    _field("SANDBOX_MODE", "sandbox_mode", "local|queue"),
    _field("SANDBOX_POOL_SIZE", "sandbox_pool_size", "integer 1-64"),
    _field("SANDBOX_QUEUE_NAME", "sandbox_queue_name", "queue name"),
    _field("SANDBOX_WORKSPACE_MAX_SHARE", "sandbox_workspace_max_share", "number in (0, 1]"),
    _field("SANDBOX_HTTP_ALLOW_PRIVATE", "sandbox_http_allow_private", "true|false"),
    _field("FEATURE_MARKETPLACE", "feature_marketplace", "true|false", runtime=True),
    _field("FEATURE_SANDBOX", "feature_sandbox", "true|false", runtime=True),
    _field("FEATURE_SEMANTIC_ROUTING", "feature_semantic_routing", "true|false", runtime=True),
    _field("METRICS_ENABLED", "metrics_enabled", "auto|true|false"),
    _field("METRICS_TOKEN", "metrics_token", "string (secret)"),
    _field("OTEL_ENABLED", "otel_enabled", "true|false"),
)
_BY_FIELD = {f.field: f for f in FIELDS}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _parse(doc: FieldDoc, raw: str) -> Any:
    """Turn one raw string into the field's type, or raise naming the variable."""
    annotation = Settings.__annotations__[doc.field]
    text = raw.strip()
    try:
        if "tuple" in annotation:
            return tuple(part.strip() for part in text.split(",") if part.strip())
        if annotation == "bool":
            low = text.lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ValueError
        if annotation == "int":
            return int(text)
        if annotation == "float":
            number = float(text)
            if not math.isfinite(number):  # "inf", "nan", "1e309" would be stored and served as null
                raise ValueError
            return number
    except ValueError:
        raise SettingsError(f"{doc.env}={raw!r} is malformed: expected {doc.form}") from None
    return text


def _validate(values: dict[str, Any]) -> None:
    checks: list[tuple[str, bool]] = [
        ("port", 1 <= values.get("port", 8000) <= 65535),
        ("workers", values.get("workers", 1) >= 1),
        ("database_pool_size", values.get("database_pool_size", 10) >= 1),
        ("database_pool_timeout", values.get("database_pool_timeout", 10.0) > 0),
        ("database_workspace_share", values.get("database_workspace_share", 0) >= 0),
        ("routing_cache_ttl_hours", values.get("routing_cache_ttl_hours", 24.0) > 0),
        ("routing_llm_confidence_threshold", 0 <= values.get("routing_llm_confidence_threshold", 0.7) <= 1),
        ("recheck_seconds", values.get("recheck_seconds", 5.0) > 0),
        ("bus_poll_seconds", values.get("bus_poll_seconds", 1.0) > 0),
        ("jwks_cache_seconds", values.get("jwks_cache_seconds", 600.0) > 0),
        ("api_key_cache_seconds", values.get("api_key_cache_seconds", 60.0) > 0),
        ("log_format", values.get("log_format", "auto") in ("auto", "json", "text")),
        ("settings_value_max_bytes", 256 <= values.get("settings_value_max_bytes", 65536) <= 16 * 1024 * 1024),
        ("sandbox_mode", values.get("sandbox_mode", "local") in ("local", "queue")),
        ("metrics_enabled", str(values.get("metrics_enabled", "auto")).lower() in ("auto", "true", "false")),
        ("sandbox_pool_size", 1 <= values.get("sandbox_pool_size", 2) <= 64),
        ("sandbox_workspace_max_share", 0 < values.get("sandbox_workspace_max_share", 0.5) <= 1),
        ("openai_base_url", str(values.get("openai_base_url") or "https://").startswith(("https://", "http://"))),
        ("anthropic_base_url", str(values.get("anthropic_base_url") or "https://").startswith(("https://", "http://"))),
        ("environment", values.get("environment", "development") in ("development", "production")),
        ("log_level", str(values.get("log_level", "INFO")).upper() in ("DEBUG", "INFO", "WARNING", "ERROR")),
    ]
    for name, ok in checks:
        if not ok:
            doc = _BY_FIELD[name]
            raise SettingsError(f"{doc.env}={values[name]!r} is out of range: expected {doc.form}")
    _validate_rate_limits(values)
    _validate_secret_keys(values)
    if values.get("sandbox_mode") == "queue" and not values.get("redis_url"):
        raise SettingsError("SANDBOX_MODE=queue needs REDIS_URL (the job queue lives in Redis)")
    url = values.get("database_url", "")
    if url and not (url.startswith("sqlite") or url.startswith("postgresql")):
        raise SettingsError(f"DATABASE_URL={url.split('://')[0]}://… is not supported: expected sqlite or postgresql")


def _validate_secret_keys(values: dict[str, Any]) -> None:
    """Too-short encryption keys stop startup; the message never shows a key."""
    current = values.get("secret_key")
    keys = [("AUTOMATOS_SECRET_KEY", str.__str__(current))] if current else []
    previous = values.get("secret_key_previous")
    if previous:
        keys += [("AUTOMATOS_SECRET_KEY_PREVIOUS", p.strip()) for p in str.__str__(previous).split(",") if p.strip()]
    for env, key in keys:
        if len(key.strip()) < 32:
            raise SettingsError(
                f"{env} is too short: expected a Fernet key or a random string of at least 32 characters"
                + (" (each comma-separated item)" if env.endswith("PREVIOUS") else "")
            )


def _validate_rate_limits(values: dict[str, Any]) -> None:
    from automatos.kernel.rate_limits import parse_rate_limit

    def check(env: str, text: str) -> None:
        try:
            parse_rate_limit(text)  # the strict grammar the middleware reads with, not ``limits.parse``
        except ValueError as exc:
            raise SettingsError(f"{env}: {exc}") from None

    if "rate_limit_default" in values:
        check("RATE_LIMIT_DEFAULT", values["rate_limit_default"])
    for item in values.get("rate_limit_routes", ()):
        route, sep, limit = item.rpartition("=")
        method, _, path = route.partition(" ")
        if not sep or not method.isalpha() or not path.startswith("/"):
            raise SettingsError(f"RATE_LIMIT_ROUTES item {item!r} is malformed: expected METHOD /path=N/period")
        check("RATE_LIMIT_ROUTES", limit)


def _compose_seed_urls(env: Mapping[str, str], values: dict[str, Any]) -> None:
    """Accept the seed's split variables when the URL form is absent."""
    if not values.get("database_url") and env.get("POSTGRES_HOST"):
        user = quote(env.get("POSTGRES_USER", "postgres"), safe="")
        password = quote(env.get("POSTGRES_PASSWORD", ""), safe="")
        port = env.get("POSTGRES_PORT", "5432")
        if not port.isdigit():
            raise SettingsError(f"POSTGRES_PORT={port!r} is malformed: expected integer 1-65535")
        auth = f"{user}:{password}@" if password else f"{user}@"
        values["database_url"] = (
            f"postgresql+asyncpg://{auth}{env['POSTGRES_HOST']}:{port}/{env.get('POSTGRES_DB', 'automatos')}"
        )
    url: str = values.get("database_url") or ""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+asyncpg://" + url[len("postgresql://") :]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite"):
        url = "sqlite+aiosqlite://" + url[len("sqlite://") :]
    if url:
        values["database_url"] = url
    if not values.get("redis_url") and env.get("REDIS_HOST"):
        port = env.get("REDIS_PORT", "6379")
        if not port.isdigit():
            raise SettingsError(f"REDIS_PORT={port!r} is malformed: expected integer 1-65535")
        redis_password = env.get("REDIS_PASSWORD")
        auth = f":{quote(redis_password, safe='')}@" if redis_password else ""
        values["redis_url"] = f"redis://{auth}{env['REDIS_HOST']}:{port}/0"


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read :class:`Settings` from ``env`` (default ``os.environ``); ``overrides`` win."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for doc in FIELDS:
        if doc.env in env:
            values[doc.field] = _parse(doc, env[doc.env])
    _compose_seed_urls(env, values)
    values.update(overrides)
    secrets = (
        "aws_access_key_id",
        "aws_secret_access_key",
        "openai_api_key",
        "anthropic_api_key",
        "api_key_pepper",
        "secret_key",
        "secret_key_previous",
        "metrics_token",
    )
    for secret in secrets:
        if values.get(secret) is not None:
            values[secret] = Secret(values[secret]) if values[secret] else None
    if "log_level" in values:
        values["log_level"] = str(values["log_level"]).upper()
    _validate(values)
    if "data_dir" in values:
        values["data_dir"] = Path(values["data_dir"])
    return Settings(**values)
