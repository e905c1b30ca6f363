"""Settings from the environment: the kernel's :class:`Settings`, and the mechanism every owner of
settings uses for its own struct (:class:`SettingsGroup`, defined in
:mod:`automatos.kernel.settings_struct` and re-exported here).

Decisions:
- One mechanism, many owners. The kernel's :class:`Settings` holds only what the kernel itself
  reads (database, backends, HTTP limits, CORS, rate limits, logging, secret keys, extensions
  allow/deny, bus, features, metrics, tracing). An extension or a feature package declares its own
  ``XxxSettings(SettingsGroup)``: its fields, and in ``FIELDS`` each field's environment variable,
  expected form and whether it may be overridden at run time. Extensions hand theirs to the kernel
  with the ``register_settings`` hook; feature packages (``llm``, ``routing``, ``sandbox``…)
  through the composition root (``automatos/container.py``, ``PACKAGE_PARTS``). The README table
  (``scripts/settings_table.py --write``) and ``/api/settings`` list them all.
- Same rules everywhere: one parser (:meth:`SettingsGroup.read`) turns a variable into its field's
  type, a malformed or out-of-range value raises :class:`SettingsError` naming the variable and the
  form it expects, ``Secret`` fields never show their value. The kernel checks every registered
  struct when it is built (:func:`check_settings`), so a bad ``OPENAI_BASE_URL`` still stops
  startup; an unknown ``AUTOMATOS_*`` variable is not an error (extensions read their own).
- A struct is read from the environment the kernel's settings were read from:
  ``settings.group(OpenAISettings)`` (cached per settings object, so it costs a dict lookup). Hooks
  receive the kernel's ``settings``; the run-time overrides (:mod:`automatos.kernel.overrides`)
  produce new settings whose environment carries the overridden values, so every struct follows.
- The keyword overrides of :func:`load_settings` (what tests and the CLI pass) use field names; a
  name the kernel does not have is kept for the struct that declares it. Field names are therefore
  unique across every struct: prefix them with the owner's name (``openai_base_url``).
- The seed's variable names are accepted as they are (``DATABASE_URL`` or ``POSTGRES_*``,
  ``REDIS_URL`` or ``REDIS_*``), so an existing deployment's environment works unchanged.
- The embedded default needs nothing: SQLite file, in-process cache and pub/sub, local storage,
  all under ``AUTOMATOS_DATA_DIR`` (``./automatos-data``).
- Secrets are :class:`Secret` values whose ``repr`` never shows the value, so a logged settings
  object leaks nothing; a struct's secrets are handed to the log redaction when it is read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote

import msgspec

from automatos.kernel.errors import SettingsError
from automatos.kernel.settings_struct import Environ, FieldDoc, Secret, SettingsGroup, setting

__all__ = [
    "FIELDS",
    "Environ",
    "FieldDoc",
    "Secret",
    "Settings",
    "SettingsGroup",
    "check_settings",
    "load_settings",
    "setting",
]

G = TypeVar("G", bound="SettingsGroup")


def _port(value: Any) -> bool:
    return 1 <= value <= 65535


# Environment variable -> field of the kernel's Settings. The README table is checked against
# every struct's FIELDS in tests (scripts/settings_table.py --write brings it up to date).
FIELDS: tuple[FieldDoc, ...] = (
    setting(
        "AUTOMATOS_ENV", "environment", "development|production", valid=lambda v: v in ("development", "production")
    ),
    setting("AUTOMATOS_DATA_DIR", "data_dir", "path"),
    setting("AUTOMATOS_HOST", "host", "host name or IP"),
    setting("AUTOMATOS_PORT", "port", "integer 1-65535", valid=_port),
    setting("AUTOMATOS_WORKERS", "workers", "integer >= 1", valid=lambda v: v >= 1),
    setting(
        "LOG_LEVEL",
        "log_level",
        "DEBUG|INFO|WARNING|ERROR",
        runtime=True,
        valid=lambda v: str(v).upper() in ("DEBUG", "INFO", "WARNING", "ERROR"),
    ),
    setting("DATABASE_URL", "database_url", "SQLAlchemy URL, e.g. postgresql+asyncpg://u:p@h/db"),
    setting("DATABASE_POOL_SIZE", "database_pool_size", "integer >= 1", valid=lambda v: v >= 1),
    setting("DATABASE_POOL_TIMEOUT", "database_pool_timeout", "number > 0", valid=lambda v: v > 0),
    setting("DATABASE_WORKSPACE_SHARE", "database_workspace_share", "integer >= 0", valid=lambda v: v >= 0),
    setting("AUTOMATOS_AUTO_MIGRATE", "auto_migrate", "true|false"),
    setting("REDIS_URL", "redis_url", "redis://[:password@]host:port/db"),
    setting("BLOB_BACKEND", "blob_backend", "local|s3|a name an extension registers"),
    setting("KV_BACKEND", "kv_backend", "memory|redis|a name an extension registers"),
    setting("PUBSUB_BACKEND", "pubsub_backend", "memory|redis|a name an extension registers"),
    setting("VECTOR_BACKEND", "vector_backend", "exact|pgvector|a name an extension registers"),
    setting("CORS_ALLOW_ORIGINS", "cors_allow_origins", "comma-separated origins", runtime=True),
    setting("RATE_LIMIT_DEFAULT", "rate_limit_default", "N/[M ]second|minute|hour|day", runtime=True),
    setting("RATE_LIMIT_ROUTES", "rate_limit_routes", "comma-separated METHOD /path=N/period", runtime=True),
    setting("TRUSTED_PROXIES", "trusted_proxies", "comma-separated IPs or CIDRs"),
    setting("HTTP_MAX_HEADER_BYTES", "http_max_header_bytes", "integer >= 1024"),
    setting("HTTP_MAX_HEADERS", "http_max_headers", "integer >= 10"),
    setting("HTTP_HEADER_TIMEOUT_SECONDS", "http_header_timeout_seconds", "number > 0"),
    setting("HTTP_BODY_TIMEOUT_SECONDS", "http_body_timeout_seconds", "number > 0"),
    setting("HTTP_KEEP_ALIVE_SECONDS", "http_keep_alive_seconds", "number > 0"),
    setting("JSON_MAX_DEPTH", "json_max_depth", "integer 2-1000"),
    setting(
        "SETTINGS_VALUE_MAX_BYTES",
        "settings_value_max_bytes",
        "integer 256-16777216",
        runtime=True,
        valid=lambda v: 256 <= v <= 16 * 1024 * 1024,
    ),
    setting("LOG_FORMAT", "log_format", "auto|json|text", valid=lambda v: v in ("auto", "json", "text")),
    setting("AUTOMATOS_SECRET_KEY", "secret_key", "Fernet key or string of 32+ characters (secret)"),
    setting("AUTOMATOS_SECRET_KEY_PREVIOUS", "secret_key_previous", "comma-separated keys (secret)"),
    setting("AUTOMATOS_EXTENSIONS_ALLOW", "extensions_allow", "comma-separated name globs"),
    setting("AUTOMATOS_EXTENSIONS_DENY", "extensions_deny", "comma-separated name globs"),
    setting("AUTOMATOS_EXTENSIONS_ENABLED_BY_DEFAULT", "extensions_enabled_by_default", "true|false"),
    setting("AUTOMATOS_RECHECK_SECONDS", "recheck_seconds", "number > 0", valid=lambda v: v > 0),
    setting("AUTOMATOS_BUS_POLL_SECONDS", "bus_poll_seconds", "number > 0", valid=lambda v: v > 0),
    setting("FEATURE_MARKETPLACE", "feature_marketplace", "true|false", runtime=True),
    setting("FEATURE_SANDBOX", "feature_sandbox", "true|false", runtime=True),
    setting("FEATURE_SEMANTIC_ROUTING", "feature_semantic_routing", "true|false", runtime=True),
    setting(
        "METRICS_ENABLED",
        "metrics_enabled",
        "auto|true|false",
        valid=lambda v: str(v).lower() in ("auto", "true", "false"),
    ),
    setting("METRICS_TOKEN", "metrics_token", "string (secret)"),
    setting("OTEL_ENABLED", "otel_enabled", "true|false"),
)


class Settings(SettingsGroup, frozen=True, kw_only=True):
    """The kernel's settings; extensions and feature packages read theirs with :meth:`group`."""

    FIELDS: ClassVar[tuple[FieldDoc, ...]] = FIELDS
    OWNER: ClassVar[str] = "kernel"

    environment: str = "development"
    """``development`` or ``production``; reported by ``/health/ready``; production adds HSTS."""
    data_dir: Path = Path("automatos-data")
    """Where the embedded default keeps its SQLite file and local blob storage."""
    host: str = "127.0.0.1"
    """Interface ``automatos serve`` binds."""
    port: int = 8000
    """Port ``automatos serve`` listens on."""
    workers: int = 1
    """Server processes (more than one needs ``REDIS_URL``)."""
    log_level: str = "INFO"
    """Log level."""

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
    """``local`` or ``s3``; empty picks ``s3`` when ``S3_BUCKET`` (the S3 extension's bucket) is set,
    else ``local``."""
    kv_backend: str = ""
    """``memory`` or ``redis``; empty picks ``redis`` when ``REDIS_URL`` is set."""
    pubsub_backend: str = ""
    """``memory`` or ``redis``; empty picks ``redis`` when ``REDIS_URL`` is set."""
    vector_backend: str = ""
    """``exact`` or ``pgvector``; empty picks ``pgvector`` on PostgreSQL, else ``exact``."""

    cors_allow_origins: tuple[str, ...] = ()
    """Origins allowed by CORS."""

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

    secret_key: Secret | None = None
    """Key that encrypts workspace extension configuration (provider keys) at rest: a Fernet key, or
    a random string of at least 32 characters (stretched with HKDF-SHA256). Unset: generated once
    into ``<data_dir>/.secret-key`` (mode 0600). Nodes that do not share a data directory must share
    this value; see ``docs/security.md`` (Secrets at rest) to rotate it."""
    secret_key_previous: Secret | None = None
    """Retired values of ``AUTOMATOS_SECRET_KEY``, comma-separated: still decrypt, never encrypt
    (a row is re-encrypted under the current key when it is next written)."""

    extensions_allow: tuple[str, ...] = ()
    """Entry-point names (glob patterns) allowed to load; empty allows all. A third-party extension
    whose scan verdict is ``review`` loads only when listed here by its exact name."""
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

    feature_marketplace: bool = True
    """Plugin submissions: false at run time, ``/api/marketplace/submissions`` answers 503; the admin's
    ``/api/admin/plugins`` routes keep working (review, reject, deactivate) and queued scans finish."""
    feature_sandbox: bool = True
    """Sandbox runs: false at start, the sandbox is not started; false at run time, runs answer 503."""
    feature_semantic_routing: bool = True
    """Passed to routing extensions in ``settings``; nothing built-in reads it."""

    metrics_enabled: str = "auto"
    """Whether ``GET /metrics`` (Prometheus format) is served: ``true``, ``false``, or ``auto`` — on in
    development, off in production. Off, it answers 404."""
    metrics_token: Secret | None = None
    """A bearer token that lets a scraper read ``/metrics`` (compared in constant time); unset, only
    platform admins' credentials may."""
    otel_enabled: bool = False
    """Trace every request with OpenTelemetry (needs the ``otel`` extra). Spans go to the OTLP
    endpoint of the standard ``OTEL_EXPORTER_OTLP_*`` variables; off, tracing costs nothing."""

    environ: Environ = msgspec.field(default_factory=Environ)
    """The environment these settings were read from: what :meth:`group` reads the other structs from."""

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'automatos.db').as_posix()}"

    @property
    def is_postgres(self) -> bool:
        return self.resolved_database_url.startswith("postgresql")

    def pick(self, family: str) -> str:
        """The backend name used for ``family`` (``blob``, ``kv``, ``pubsub``, ``vector``).

        The defaults are the seed's: ``s3`` once ``S3_BUCKET`` is given (the variable of the S3
        extension's struct, looked at here by name only), ``redis`` once ``REDIS_URL`` is.
        """
        explicit = getattr(self, f"{family}_backend")
        if explicit:
            return str(explicit)
        if family == "blob":
            return "s3" if self.environ.given("S3_BUCKET", "s3_bucket") else "local"
        if family in ("kv", "pubsub"):
            return "redis" if self.redis_url else "memory"
        return "pgvector" if self.is_postgres else "exact"

    def group(self, cls: type[G]) -> G:
        """The settings struct ``cls`` read from the same environment (cached; a malformed variable
        raises :class:`SettingsError`). Its secrets are masked in logs from then on."""
        if isinstance(self, cls):
            return self
        cache = self.environ._groups
        got = cache.get(cls)
        if got is None:
            names = cls.__struct_fields__
            got = cls.read(self.environ, {k: v for k, v in self.environ.fields.items() if k in names}, settings=self)
            cache[cls] = got
            _mask(got)
        return got  # type: ignore[return-value]

    @classmethod
    def compose(cls, env: Mapping[str, str], values: dict[str, Any]) -> None:
        _compose_seed_urls(env, values)

    @classmethod
    def validate(cls, values: dict[str, Any], settings: Settings | None) -> None:
        if "log_level" in values:
            values["log_level"] = str(values["log_level"]).upper()
        super().validate(values, settings)
        _validate_rate_limits(values)
        _validate_secret_keys(values)
        url = values.get("database_url", "")
        if url and not (url.startswith("sqlite") or url.startswith("postgresql")):
            raise SettingsError(
                f"DATABASE_URL={url.split('://')[0]}://… is not supported: expected sqlite or postgresql"
            )


_KERNEL_FIELDS = frozenset(Settings.__struct_fields__) - {"environ"}


def _mask(group: SettingsGroup) -> None:
    from automatos.kernel.logging import add_secret  # logging imports this module

    for secret in group.secrets():
        add_secret(secret)


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
    from automatos.kernel.rate_limit_syntax import parse_rate_limit

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
    """Read the kernel's :class:`Settings` from ``env`` (default ``os.environ``); ``overrides`` win.

    An override the kernel has no field for is kept for the struct that declares it
    (``load_settings(openai_base_url=...)``); :func:`check_settings` refuses one nobody declares.
    """
    env = os.environ if env is None else env
    own = {k: v for k, v in overrides.items() if k in _KERNEL_FIELDS}
    others = {k: v for k, v in overrides.items() if k not in _KERNEL_FIELDS}
    return Settings.read(env, own, fixed={"environ": Environ(env, others)})


def check_settings(settings: Settings, groups: Sequence[type[SettingsGroup]]) -> tuple[type[SettingsGroup], ...]:
    """Read every struct of ``groups`` from ``settings``: the kernel calls it when it is built, so a
    malformed variable of any owner stops startup. Also refused: a variable or field two structs
    declare, and a keyword override no struct declares (a typo, or its extension is not loaded).

    Returns the kernel's :class:`Settings` followed by ``groups``, each once.
    """
    envs: dict[str, type[SettingsGroup]] = {doc.env: Settings for doc in Settings.FIELDS}
    names: dict[str, type[SettingsGroup]] = {name: Settings for name in _KERNEL_FIELDS}
    seen: list[type[SettingsGroup]] = [Settings]
    for group in groups:
        if group in seen:
            continue
        for doc in group.FIELDS:
            if doc.env in envs:
                raise SettingsError(f"{doc.env} is declared by both {envs[doc.env].__name__} and {group.__name__}")
            envs[doc.env] = group
        for name in group.__struct_fields__:
            if name in names:
                raise SettingsError(
                    f"setting field {name!r} is declared by both {names[name].__name__} and {group.__name__}"
                )
            names[name] = group
        settings.group(group)
        seen.append(group)
    unknown = sorted(set(settings.environ.fields) - set(names))
    if unknown:
        raise SettingsError(
            f"unknown setting {unknown[0]!r}: no settings struct declares it (a typo, or its extension is not loaded)"
        )
    return tuple(seen)
