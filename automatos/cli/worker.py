"""``automatos worker`` (serve the job queues: sandbox runs, plugin scans, recipe steps) and
``automatos sandbox run``.

Recipe steps (``--queue recipes``) start a full kernel: they read and write the database. Otherwise
neither starts a kernel: each builds the container's hook facade only, through which queue mode
finds the job queue's backend (``register_queue_backends``, :mod:`automatos.jobs.backend`) and the
worker the blob backend where plugin bundles are stored (``register_blob_backends``). A scan worker
needs no database: it answers the report, the API node that submitted the scan writes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from typing import TYPE_CHECKING, Any

import click
import msgspec

from automatos.cli.common import UsageExit
from automatos.kernel.errors import SettingsError
from automatos.kernel.logging import configure_logging
from automatos.kernel.settings import Settings, load_settings

if TYPE_CHECKING:
    from automatos.container import Container
    from automatos.kernel.backends import BlobBackend, QueueBackend
    from automatos.kernel.hooks import Hooks

__all__ = ["sandbox", "serve_recipes", "worker"]


def _sandbox_settings(**overrides: Any) -> Settings:
    from automatos.sandbox.settings import SandboxSettings

    try:
        settings = load_settings(**overrides)
        settings.group(SandboxSettings)  # the sandbox's own variables: a malformed one is a usage error too
    except SettingsError as exc:
        raise UsageExit(f"settings: {exc}") from None
    return settings


def _hooks(settings: Settings) -> Hooks:
    """The hook facade of a container on ``settings``: what finds the job queue's backend (no kernel start)."""
    from automatos.container import Container

    container = Container()
    container.settings.override(settings)
    hooks: Hooks = container.hooks()
    return hooks


async def _blob_backend(hooks: Hooks, settings: Settings) -> BlobBackend:
    """The blob backend the settings name (``BLOB_BACKEND``, as the API's kernel picks it): where bundles are."""
    from automatos.kernel.backends import BackendContext, BlobBackend

    wanted = settings.pick("blob")
    factories = await hooks.backend_factories("blob")
    pair = factories.items.get(wanted)
    if pair is None:
        available = ", ".join(sorted(factories.items)) or "none"
        raise SettingsError(f"BLOB_BACKEND={wanted!r}: no loaded extension registers it (available: {available})")
    backend = pair[1](BackendContext(settings=settings))
    if not isinstance(backend, BlobBackend):
        raise TypeError(f"the {wanted!r} blob backend of {factories.sources[wanted]} is not a BlobBackend")
    await backend.open()
    return backend


async def _serve_marketplace(
    settings: Settings, hooks: Hooks, backend: QueueBackend, stop: asyncio.Event, grace: float
) -> None:
    from automatos.marketplace.queue import serve
    from automatos.marketplace.settings import MarketplaceSettings

    blob = await _blob_backend(hooks, settings)
    try:
        await serve(settings.group(MarketplaceSettings), backend, blob, stop_event=stop, grace_seconds=grace)
    finally:
        with contextlib.suppress(Exception):
            await blob.close()


async def serve_recipes(
    settings: Settings,
    backend: QueueBackend,
    stop: asyncio.Event,
    grace: float,
    *,
    container: Container | None = None,
) -> None:
    """Recipe steps need everything an API process has (the database, agents, tools): a full kernel
    (``container``: one built on ``settings`` unless given — tests give theirs)."""
    from automatos.container import Container, start_tools, stop_tools
    from automatos.recipes.queue import serve
    from automatos.recipes.settings import RecipeSettings

    own = settings.group(RecipeSettings)
    if container is None:
        container = Container()
        container.settings.override(settings)
    kernel = container.kernel()
    await kernel.start()
    try:
        await start_tools(container)  # the tools a step calls: plugins (sandbox), MCP, Composio
        engine = container.recipe_engine()
        engine.heartbeat_seconds, engine.stale_seconds = own.recipes_heartbeat_seconds, own.recipes_stale_seconds
        await serve(engine, backend, own, stop_event=stop, grace_seconds=grace)
    finally:
        await stop_tools(container)
        await kernel.stop()


@click.command()
@click.option(
    "--grace",
    type=click.FloatRange(0, 3600),
    default=8.0,
    show_default=True,
    help="Seconds runs in flight may take to finish on SIGTERM before they are aborted.",
)
@click.option(
    "--queue",
    "queues",
    type=click.Choice(["sandbox", "marketplace", "recipes"]),
    multiple=True,
    help=(
        "Serve only this queue (repeatable). Default: sandbox runs and plugin scans. Recipe steps"
        " (RECIPES_RUNNER=queue) only when asked: they need the database as well."
    ),
)
def worker(grace: float, queues: tuple[str, ...]) -> None:
    """Serve the Redis job queues until SIGTERM or SIGINT: sandbox runs and plugin scans.

    Sandbox runs (SANDBOX_MODE=queue): SANDBOX_POOL_SIZE isolated sandbox processes take that many
    jobs at a time from SANDBOX_QUEUE_NAME. Plugin scans (PLUGINS_SCAN_MODE=queue): one scan at a
    time from PLUGINS_SCAN_QUEUE_NAME, in a spawned scan process under PLUGINS_SCAN_TIMEOUT_SECONDS,
    the bundle read from the blob backend (BLOB_BACKEND: the API's). Both on REDIS_URL; --queue
    picks one. On SIGTERM/SIGINT it takes no new job, lets jobs in flight finish for --grace seconds,
    aborts the rest (runs' callers are told; scans are submitted again to another worker), and
    exits 0; a second signal aborts at once.
    """
    import signal

    from automatos.kernel.extras import reason_for

    try:
        from redis.exceptions import RedisError

        from automatos.jobs.backend import queue_backend
        from automatos.sandbox.queue import serve
    except ModuleNotFoundError as exc:
        raise UsageExit(f"automatos worker {reason_for(exc) or exc}") from None

    settings = _sandbox_settings()
    configure_logging(settings)
    if not settings.redis_url:
        raise UsageExit(
            "automatos worker needs REDIS_URL (redis://[:password@]host:port/db): the job queue lives there"
        )
    wanted = set(queues or ("sandbox", "marketplace"))
    if "marketplace" in wanted:
        from automatos.marketplace.settings import MarketplaceSettings

        try:
            settings.group(MarketplaceSettings)
        except SettingsError as exc:
            raise UsageExit(f"settings: {exc}") from None

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()

        def on_signal(signum: int) -> None:
            if stop.is_set() and task is not None:
                click.echo(f"{signal.Signals(signum).name} again: aborting the jobs in flight now", err=True)
                task.cancel()
                return
            click.echo(f"{signal.Signals(signum).name}: finishing the jobs in flight, then stopping", err=True)
            stop.set()

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, on_signal, signum)
        try:
            hooks = _hooks(settings)
            backend = await queue_backend(hooks, settings)
            served = []
            if "sandbox" in wanted:
                served.append(serve(settings, backend, stop_event=stop, grace_seconds=grace))
            if "marketplace" in wanted:
                served.append(_serve_marketplace(settings, hooks, backend, stop, grace))
            if "recipes" in wanted:
                served.append(serve_recipes(settings, backend, stop, grace))
            await asyncio.gather(*served)
        except asyncio.CancelledError:
            if not stop.is_set():
                raise
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)

    try:
        asyncio.run(run())
    except (RedisError, OSError) as exc:
        raise click.ClickException(f"the job queue is unreachable: {type(exc).__name__}: {exc}") from None
    except (RuntimeError, SettingsError, TypeError) as exc:
        raise click.ClickException(str(exc)) from None


_MAX_CPU_SECONDS = 300.0
"""The bound of ``Limits.cpu_seconds``: a longer --timeout alone caps the CPU limit there."""


@click.group()
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
    from automatos.sandbox import Limits, Sandbox, SandboxError, SandboxResult, build_sandbox

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
        box: Sandbox | None = None
        try:
            box = await build_sandbox(settings, _hooks(settings))
            await box.start()
            return await box.run(code, inputs, limits)
        except Exception as exc:  # the sandbox itself failed (the snippet's failures are results)
            message = f"the sandbox could not run it: {type(exc).__name__}: {exc}"
            return SandboxResult(ok=False, error=SandboxError(kind="worker", message=message))
        finally:
            if box is not None:
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
