"""``automatos …`` commands. Each reads the same settings as the server (environment, current directory).

Malformed settings stop a command with the message naming the variable and exit status 2.

Every command that reads or writes data says on stderr which data directory and database it uses:
the embedded default's database is ``automatos-data/automatos.db`` *relative to the current
directory*, so a command run from elsewhere would otherwise work on a new, empty database and print
a key the server never sees. Such a command refuses (exit status 2) to create a SQLite database
that does not exist yet unless it is given ``--init``. ``automatos serve`` creates it as before: a
server on the embedded default is how a fresh install starts (``scripts/serve``). PostgreSQL
databases are never created by Automatos, so the check is for SQLite files only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
import msgspec

from automatos.kernel.errors import AutomatosError, SettingsError
from automatos.kernel.logging import configure_logging
from automatos.kernel.settings import Settings, load_settings

__all__ = ["main"]

T = TypeVar("T")


def _settings(**overrides: Any) -> Settings:
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except SettingsError as exc:
        raise click.ClickException(f"settings: {exc}") from None


class _UsageExit(click.ClickException):
    """A configuration the command cannot work with: the message on stderr, exit status 2."""

    exit_code = 2


def _describe_database(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    from automatos.kernel.datadir import sqlite_path

    path = sqlite_path(settings.resolved_database_url)
    if path is not None:
        return f"SQLite {path.resolve()}"
    try:
        return make_url(settings.resolved_database_url).render_as_string(hide_password=True)
    except Exception:  # a URL SQLAlchemy cannot parse fails later, with its own message
        return settings.resolved_database_url.split("@")[-1]


def _data_settings(init: bool, **overrides: Any) -> Settings:
    """The settings of a command that touches data: say where the data is, refuse to invent it.

    Prints the data directory and the database on stderr. A SQLite database file that does not
    exist is created only with ``init`` (exit status 2 otherwise, nothing created); the data
    directory is then created private (0700).
    """
    from automatos.kernel.datadir import ensure_private_dir, sqlite_path

    settings = _settings(**overrides)
    click.echo(
        f"automatos: data directory {settings.data_dir.resolve()}, database {_describe_database(settings)}", err=True
    )
    path = sqlite_path(settings.resolved_database_url)
    if path is not None and not path.exists():
        if not init:
            raise _UsageExit(
                f"no database at {path.resolve()}: run the command where 'automatos serve' runs, or set "
                "AUTOMATOS_DATA_DIR (or DATABASE_URL) to the server's; pass --init to create a new one here"
            )
        click.echo(f"automatos: creating a new database at {path.resolve()}", err=True)
    if path is not None or init:
        ensure_private_dir(settings.data_dir)
    return settings


def _init_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--init",
        is_flag=True,
        help="Create the embedded SQLite database if it does not exist (otherwise the command refuses).",
    )(fn)


def _with_kernel(fn: Callable[[Any], Awaitable[T]], settings: Settings) -> T:
    """Start a kernel (migrations, backends) for one command, then stop it."""
    from automatos.container import Container

    async def run() -> T:
        container = Container()
        container.settings.override(settings)
        kernel = container.kernel()
        await kernel.start()
        try:
            return await fn(kernel)
        finally:
            await kernel.stop()

    try:
        return asyncio.run(run())
    except (AutomatosError, SettingsError) as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
@click.version_option(package_name="automatos")
def main() -> None:
    """Automatos: orchestrate AI agents for many teams at once."""


@main.command()
@click.option("--host", default=None, help="Interface to bind (default AUTOMATOS_HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default AUTOMATOS_PORT or 8000).")
@click.option("--workers", default=None, type=int, help="Worker processes (default AUTOMATOS_WORKERS or 1).")
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Run the API server (embedded default: SQLite, in-process cache, local storage)."""
    import uvicorn

    from automatos.api.server import uvicorn_options
    from automatos.kernel.datadir import ensure_private_dir

    settings = _settings(host=host, port=port, workers=workers)
    configure_logging(settings)
    ensure_private_dir(settings.data_dir)
    if settings.workers > 1 and not settings.is_postgres:
        click.echo("warning: several workers on SQLite share one file; use PostgreSQL for real load", err=True)
    if settings.workers > 1 and not settings.redis_url:
        raise click.ClickException("AUTOMATOS_WORKERS > 1 needs REDIS_URL: caches must be shared between workers")
    if settings.auto_migrate:
        from automatos.kernel.db.migrate import upgrade_sync

        upgrade_sync(settings.resolved_database_url)  # once, before workers race for it
    click.echo(
        f"Automatos listening on http://{settings.host}:{settings.port} "
        f"(database {settings.resolved_database_url.split('@')[-1]}, data in {settings.data_dir.resolve()})"
    )
    uvicorn.run(
        "automatos.api.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level.lower(),
        log_config=None,  # uvicorn's lines go through our handler (JSON, request id, redaction)
        # bounded heads (431), slow-header and idle timeouts, no proxy headers (the app judges
        # X-Forwarded-For against TRUSTED_PROXIES), graceful shutdown: automatos.api.server
        **uvicorn_options(settings),
    )


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@_init_option
def db_upgrade(revision: str, init: bool) -> None:
    """Apply migrations (SQLite or PostgreSQL; enables pgvector on PostgreSQL)."""
    from automatos.kernel.db.migrate import upgrade_sync

    settings = _data_settings(init)
    upgrade_sync(settings.resolved_database_url, revision)
    click.echo(f"database at {revision}")


@db.command("current")
def db_current() -> None:
    """Print the current migration revision."""
    from automatos.kernel.db.migrate import current

    click.echo(asyncio.run(current(_data_settings(False).resolved_database_url)) or "(empty)")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object on stdout.")
@_init_option
def seed(as_json: bool, init: bool) -> None:
    """Insert or refresh the platform's reference data (models, personas, catalogs, prompts); idempotent."""
    from sqlalchemy import pool
    from sqlalchemy.exc import SQLAlchemyError

    from automatos.agents.seed import SeedReport, run_seed
    from automatos.kernel.db.migrate import current, head, upgrade
    from automatos.kernel.db.session import engine_from_url, make_sessionmaker

    settings = _data_settings(init)
    url = settings.resolved_database_url

    async def run() -> SeedReport:
        if settings.auto_migrate:
            await upgrade(url)
        elif (revision := await current(url)) != head():
            raise click.ClickException(
                f"the database is at {revision or '(empty)'}, not {head()}: run 'automatos db upgrade' first"
            )
        engine = engine_from_url(url, poolclass=pool.NullPool)
        try:
            return await run_seed(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    with _quiet(as_json):
        try:
            report = asyncio.run(run())
        except SQLAlchemyError as exc:
            raise click.ClickException(f"seed failed: {exc}") from None
    if as_json:
        click.echo(json.dumps(report.to_dict()))
        return
    click.echo(f"{'family':<20} {'created':>8} {'updated':>8} {'unchanged':>10}")
    for name, counts in [*report.families().items(), ("total", report.total)]:
        click.echo(f"{name:<20} {counts.created:>8} {counts.updated:>8} {counts.unchanged:>10}")


@main.group()
def extensions() -> None:
    """Installed extensions and their per-workspace state."""


@extensions.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array on stdout.")
def extensions_list(as_json: bool) -> None:
    """Discover and load extensions the way the server does, and say what became of each."""
    from automatos.kernel.container import build_registry

    registry = build_registry(_settings())
    infos = sorted(registry.extensions.values(), key=lambda i: (not i.builtin, i.name))
    if as_json:
        click.echo(json.dumps(msgspec.to_builtins(infos)))
        return
    for info in infos:
        origin = f"{info.distribution or '?'} {info.version or ''}".strip()
        reason = f" - {info.reason}" if info.reason else ""
        click.echo(f"{info.state.value:<12} {info.name:<32} {origin}{reason}")


def _toggle(workspace: str, name: str, enabled: bool, init: bool) -> None:
    async def run(kernel: Any) -> int:
        ws = await kernel.store.get_workspace(workspace)
        if ws is None:
            raise click.ClickException(f"workspace {workspace!r} does not exist")
        version: int = await kernel.set_extension(ws, name, enabled=enabled, actor_id="cli")
        return version

    version = _with_kernel(run, _data_settings(init))
    click.echo(f"{name} {'enabled' if enabled else 'disabled'} in {workspace} (version {version})")


@extensions.command("enable")
@click.option("--workspace", required=True, help="Workspace id or slug.")
@click.argument("name")
@_init_option
def extensions_enable(workspace: str, name: str, init: bool) -> None:
    """Enable an extension in a workspace."""
    _toggle(workspace, name, True, init)


@extensions.command("disable")
@click.option("--workspace", required=True, help="Workspace id or slug.")
@click.argument("name")
@_init_option
def extensions_disable(workspace: str, name: str, init: bool) -> None:
    """Disable an extension in a workspace (essential built-ins refuse)."""
    _toggle(workspace, name, False, init)


@main.group("settings")
def settings_group() -> None:
    """Run-time settings stored in system_settings (take effect on every node without a restart)."""


@settings_group.command("list")
@_init_option
def settings_list(init: bool) -> None:
    """Every run-time setting, its value and where the value comes from."""

    async def run(kernel: Any) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = kernel.overrides.describe()
        return rows

    for row in _with_kernel(run, _data_settings(init)):
        click.echo(f"{row['key']:<36} {row['value']!s:<24} ({row['source']})")


@settings_group.command("set")
@click.argument("key")
@click.argument("value")
@_init_option
def settings_set(key: str, value: str, init: bool) -> None:
    """Override KEY (an environment variable name, e.g. LLM_MODEL) with VALUE."""

    async def run(kernel: Any) -> None:
        await kernel.set_setting(key, value, actor_id="cli")

    _with_kernel(run, _data_settings(init))
    click.echo(f"{key} set")


@settings_group.command("unset")
@click.argument("key")
@_init_option
def settings_unset(key: str, init: bool) -> None:
    """Remove the override of KEY: the environment's value applies again."""

    async def run(kernel: Any) -> None:
        await kernel.set_setting(key, None, actor_id="cli")

    _with_kernel(run, _data_settings(init))
    click.echo(f"{key} unset")


_ROLES = click.Choice(["owner", "admin", "member", "viewer"])


def _quiet(as_json: bool) -> contextlib.AbstractContextManager[object]:
    """With ``--json``, stdout carries the one JSON document: anything else printed goes to stderr."""
    return contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext()


async def _workspace(kernel: Any, ref: str) -> Any:
    workspace = await kernel.store.get_workspace(ref)
    if workspace is None:
        raise click.ClickException(f"workspace {ref!r} does not exist")
    return workspace


@main.group()
def keys() -> None:
    """API keys of a workspace. A new key is printed once; only its hash is stored."""


@keys.command("create")
@click.option("--workspace", required=True, help="Workspace id or slug (a fresh install has 'default').")
@click.option("--name", required=True, help="What the key is for.")
@click.option("--role", type=_ROLES, default="member", show_default=True)
@click.option("--scope", "scopes", multiple=True, help="Narrow the key to this permission (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object on stdout.")
@_init_option
def keys_create(workspace: str, name: str, role: str, scopes: tuple[str, ...], as_json: bool, init: bool) -> None:
    """Create an API key; use it as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'."""
    from automatos.extensions.auth.api_keys import create_key

    async def run(kernel: Any) -> tuple[Any, Any, str]:
        ws = await _workspace(kernel, workspace)
        record, key = await create_key(kernel, ws.id, name, role, scopes, created_by="cli")
        return ws, record, key

    with _quiet(as_json):
        ws, record, key = _with_kernel(run, _data_settings(init))
    if as_json:
        fields = {"workspace_id": ws.id, "id": record.id, "prefix": record.prefix, "name": record.name}
        click.echo(json.dumps({"key": key, **fields, "role": record.role}))
        return
    click.echo(f"API key {record.name!r} ({record.prefix}, role {record.role}) in workspace {ws.slug}:")
    click.echo(key)
    click.echo("It is shown only this once: store it now.", err=True)


@keys.command("list")
@click.option("--workspace", required=True, help="Workspace id or slug.")
@click.option("--include-revoked", is_flag=True, help="Show revoked keys too.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array on stdout.")
@_init_option
def keys_list(workspace: str, include_revoked: bool, as_json: bool, init: bool) -> None:
    """The workspace's keys (prefixes, never secrets)."""
    from automatos.extensions.auth.api_keys import list_keys

    async def run(kernel: Any) -> list[Any]:
        ws = await _workspace(kernel, workspace)
        records, _ = await list_keys(kernel, ws.id, 0, 10_000, include_revoked=include_revoked)
        return records

    with _quiet(as_json):
        records = _with_kernel(run, _data_settings(init))
    if as_json:
        click.echo(json.dumps(msgspec.to_builtins(records)))
        return
    for r in records:
        used = r.last_used_at.isoformat(timespec="seconds") if r.last_used_at else "never"
        state = "revoked" if r.revoked_at else "active"
        click.echo(f"{r.prefix}  {r.id}  {r.role:<7} {state:<8} last used {used:<25} {r.name}")


@keys.command("revoke")
@click.option("--workspace", required=True, help="Workspace id or slug.")
@click.argument("key_id")
@_init_option
def keys_revoke(workspace: str, key_id: str, init: bool) -> None:
    """Revoke KEY_ID (the key's id or prefix) on every node at once."""
    from automatos.extensions.auth.api_keys import revoke_key

    async def run(kernel: Any) -> Any:
        ws = await _workspace(kernel, workspace)
        return await revoke_key(kernel, ws.id, key_id, "cli")

    record = _with_kernel(run, _data_settings(init))
    click.echo(f"revoked {record.prefix} ({record.name})")


@main.group()
def admin() -> None:
    """Platform administrators."""


async def _ensure_platform_admin(kernel: Any, email: str, workspace_id: str) -> str:
    """Create or promote the user, make them an owner of ``workspace_id``; returns the user id."""
    from sqlalchemy import select

    from automatos.kernel.db import models as m
    from automatos.kernel.store import KernelStore

    async with kernel.store.sessionmaker.begin() as session:
        user = await session.scalar(select(m.User).where(m.User.email == email))
        if user is None:
            user = m.User(email=email, is_platform_admin=True)
            session.add(user)
            await session.flush()
            KernelStore._audit(session, None, "cli", "user.created", "user", user.id, {"platform_admin": True})
        elif not user.is_platform_admin:
            user.is_platform_admin = True
            KernelStore._audit(session, None, "cli", "user.platform_admin_granted", "user", user.id, {})
        member = await session.scalar(
            select(m.WorkspaceMember).where(
                m.WorkspaceMember.workspace_id == workspace_id, m.WorkspaceMember.user_id == user.id
            )
        )
        if member is None:
            session.add(m.WorkspaceMember(workspace_id=workspace_id, user_id=user.id, role="owner"))
            KernelStore._audit(session, workspace_id, "cli", "member.added", "user", user.id, {"role": "owner"})
        elif member.role != "owner":
            data = {"from": member.role, "to": "owner"}
            member.role = "owner"
            KernelStore._audit(session, workspace_id, "cli", "member.role_changed", "user", user.id, data)
        user_id: str = user.id
    await kernel.directory_changed(workspace_id)
    return user_id


@admin.command("create")
@click.option("--email", required=True, help="The admin's e-mail address (created, or promoted if it exists).")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object on stdout.")
@_init_option
def admin_create(email: str, as_json: bool, init: bool) -> None:
    """Make a platform admin, an owner of the default workspace, and print a key for them."""
    from automatos.extensions.auth.api_keys import create_key
    from automatos.kernel.store import DEFAULT_WORKSPACE_SLUG

    address = email.strip().lower()
    if "@" not in address:
        raise click.BadParameter(f"{email!r} is not an e-mail address", param_hint="--email")

    async def run(kernel: Any) -> tuple[Any, Any, str, str]:
        ws = await _workspace(kernel, DEFAULT_WORKSPACE_SLUG)
        user_id = await _ensure_platform_admin(kernel, address, ws.id)
        record, key = await create_key(kernel, ws.id, f"admin {address}", "owner", user_id=user_id, created_by="cli")
        return ws, record, key, user_id

    with _quiet(as_json):
        ws, record, key, user_id = _with_kernel(run, _data_settings(init))
    if as_json:
        fields = {"workspace_id": ws.id, "id": record.id, "prefix": record.prefix, "name": record.name}
        click.echo(json.dumps({"key": key, **fields, "role": record.role, "user_id": user_id, "email": address}))
        return
    click.echo(f"{address} is a platform admin and an owner of workspace {ws.slug}. Their API key:")
    click.echo(key)
    click.echo("It is shown only this once: store it now.", err=True)


def _sandbox_settings(**overrides: Any) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        raise _UsageExit(f"settings: {exc}") from None


@main.command()
@click.option(
    "--grace",
    type=click.FloatRange(0, 3600),
    default=8.0,
    show_default=True,
    help="Seconds runs in flight may take to finish on SIGTERM before they are aborted.",
)
def worker(grace: float) -> None:
    """Serve sandbox runs from the Redis job queue (SANDBOX_MODE=queue) until SIGTERM or SIGINT.

    Runs SANDBOX_POOL_SIZE isolated sandbox processes and takes that many jobs at a time from the
    queue SANDBOX_QUEUE_NAME on REDIS_URL. On SIGTERM/SIGINT it takes no new job, lets runs in
    flight finish for --grace seconds, aborts the rest (their callers are told), and exits 0; a
    second signal aborts at once.
    """
    import signal

    from automatos.kernel.extras import reason_for

    try:
        from redis.exceptions import RedisError

        from automatos.sandbox.queue import serve
    except ModuleNotFoundError as exc:
        raise _UsageExit(f"automatos worker {reason_for(exc) or exc}") from None

    settings = _sandbox_settings()
    configure_logging(settings)
    if not settings.redis_url:
        raise _UsageExit(
            "automatos worker needs REDIS_URL (redis://[:password@]host:port/db): the job queue lives there"
        )

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()

        def on_signal(signum: int) -> None:
            if stop.is_set() and task is not None:
                click.echo(f"{signal.Signals(signum).name} again: aborting the runs in flight now", err=True)
                task.cancel()
                return
            click.echo(f"{signal.Signals(signum).name}: finishing the runs in flight, then stopping", err=True)
            stop.set()

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, on_signal, signum)
        try:
            await serve(settings, stop_event=stop, grace_seconds=grace)
        except asyncio.CancelledError:
            if not stop.is_set():
                raise
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)

    try:
        asyncio.run(run())
    except (RedisError, OSError) as exc:
        raise click.ClickException(f"the sandbox job queue is unreachable: {type(exc).__name__}: {exc}") from None
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None


_MAX_CPU_SECONDS = 300.0
"""The bound of ``Limits.cpu_seconds``: a longer --timeout alone caps the CPU limit there."""


@main.group()
def sandbox() -> None:
    """The sandbox where untrusted code runs."""


def _limit_option(value: float | None, option: str, field: str, fields: dict[str, Any]) -> None:
    """Check ``value`` against the bounds of ``Limits.<field>``; the error names ``option``."""
    from automatos.sandbox import Limits

    if value is None:
        return
    try:
        msgspec.convert({field: value}, Limits)
    except msgspec.ValidationError as exc:
        reason = str(exc).split(" - at ", 1)[0]
        raise click.BadParameter(f"{value:g} is out of range ({reason})", param_hint=option) from None
    fields[field] = value


@contextlib.contextmanager
def _stdout_to_stderr(active: bool) -> Any:
    """While active, whatever anyone writes to stdout (even at file-descriptor level) goes to stderr."""
    if not active:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


@sandbox.command("run")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object on stdout.")
@click.option("--timeout", type=float, default=None, help="Wall-clock limit in seconds (and CPU, unless --cpu).")
@click.option("--memory", type=int, default=None, help="Memory limit in MB.")
@click.option("--cpu", type=float, default=None, help="CPU time limit in seconds.")
@click.option("--input", "input_json", default=None, metavar="JSON", help="A JSON object: the snippet's 'inputs'.")
@click.pass_context
def sandbox_run(
    ctx: click.Context,
    file: Any,
    as_json: bool,
    timeout: float | None,
    memory: int | None,
    cpu: float | None,
    input_json: str | None,
) -> None:
    """Run the Python snippet in FILE ('-': stdin) in the sandbox, as the API would.

    SANDBOX_MODE decides where: a local isolated worker process, or the Redis job queue served
    by 'automatos worker'. The snippet leaves its answer in the global 'result' and reads
    'inputs'. Exit status: 0 when it succeeded, 1 when it failed, was refused or hit a limit,
    2 for a usage error.
    """
    from automatos.sandbox import Limits, SandboxError, SandboxResult, sandbox_from_settings

    try:
        code = file.read()
    except UnicodeDecodeError:
        raise click.BadParameter("the file is not UTF-8 text", param_hint="FILE") from None
    inputs: dict[str, Any] = {}
    if input_json is not None:
        try:
            inputs = json.loads(input_json)
        except ValueError as exc:
            raise click.BadParameter(f"not JSON ({exc})", param_hint="--input") from None
        if not isinstance(inputs, dict):
            raise click.BadParameter("must be a JSON object", param_hint="--input")
    fields: dict[str, Any] = {}
    _limit_option(timeout, "--timeout", "wall_seconds", fields)
    _limit_option(cpu, "--cpu", "cpu_seconds", fields)
    _limit_option(memory, "--memory", "memory_mb", fields)
    if timeout is not None and cpu is None:
        fields["cpu_seconds"] = min(timeout, _MAX_CPU_SECONDS)
    limits = Limits(**fields)
    settings = _sandbox_settings(sandbox_pool_size=1)

    async def run() -> SandboxResult:
        box = sandbox_from_settings(settings)
        try:
            await box.start()
            return await box.run(code, inputs, limits)
        except Exception as exc:  # the sandbox itself failed (the snippet's failures are results)
            message = f"the sandbox could not run it: {type(exc).__name__}: {exc}"
            return SandboxResult(ok=False, error=SandboxError(kind="worker", message=message))
        finally:
            with contextlib.suppress(Exception):
                await box.stop()

    with _stdout_to_stderr(as_json):
        configure_logging(settings)
        result = asyncio.run(run())
    error = result.error
    if as_json:
        document = {
            "ok": result.ok,
            "result": result.result,
            "error": error.message if error else None,
            "error_detail": msgspec.to_builtins(error) if error else None,
            "stdout": result.stdout,
            "logs": result.logs,
            "usage": msgspec.to_builtins(result.usage),
        }
        sys.stdout.write(json.dumps(document) + "\n")
        sys.stdout.flush()
    else:
        if result.stdout:
            sys.stdout.write(result.stdout if result.stdout.endswith("\n") else result.stdout + "\n")
        for line in result.logs:
            click.echo(" ".join(f"{k}={v}" for k, v in line.items()), err=True)
        if result.ok:
            click.echo(json.dumps(result.result))
        elif error is not None:
            where = f" (line {error.line}{f', column {error.column}' if error.column else ''})" if error.line else ""
            click.echo(f"error: {error.kind}: {error.message}{where}", err=True)
    ctx.exit(0 if result.ok else 1)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
