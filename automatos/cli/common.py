"""What every ``automatos …`` command shares: settings, the data-location check, a kernel for one command.

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
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from automatos.kernel.errors import AutomatosError, SettingsError
from automatos.kernel.settings import Settings, check_settings, load_settings

if TYPE_CHECKING:
    from automatos.container import Container
    from automatos.kernel.parts import MigrationSource

__all__ = [
    "UsageExit",
    "command_settings",
    "data_settings",
    "init_option",
    "migration_sources",
    "quiet",
    "with_container",
    "with_kernel",
    "workspace_or_exit",
]

T = TypeVar("T")


def command_settings(**overrides: Any) -> Settings:
    """The kernel's settings with every owner's struct checked too (feature packages' and loaded
    extensions'): a malformed variable of any owner stops the command here, in one line naming it,
    before anything is created or migrated — as the flat settings did before they were split."""
    from automatos.container import Container

    try:
        settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
        container = Container()
        container.settings.override(settings)
        check_settings(settings, container.parts().settings)
    except SettingsError as exc:
        raise click.ClickException(f"settings: {exc}") from None
    return settings


def migration_sources(settings: Settings) -> tuple[MigrationSource, ...]:
    """Every revision directory besides the kernel's: the feature packages' (the composition root's)
    and the loaded extensions' (``register_migrations``), as the kernel itself would run them."""
    from automatos.container import Container

    container = Container()
    container.settings.override(settings)
    return tuple(container.parts().migrations)


class UsageExit(click.ClickException):
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


def data_settings(init: bool, **overrides: Any) -> Settings:
    """The settings of a command that touches data: say where the data is, refuse to invent it.

    Prints the data directory and the database on stderr. A SQLite database file that does not
    exist is created only with ``init`` (exit status 2 otherwise, nothing created); the data
    directory is then created private (0700).
    """
    from automatos.kernel.datadir import ensure_private_dir, sqlite_path

    settings = command_settings(**overrides)
    click.echo(
        f"automatos: data directory {settings.data_dir.resolve()}, database {_describe_database(settings)}", err=True
    )
    path = sqlite_path(settings.resolved_database_url)
    if path is not None and not path.exists():
        if not init:
            raise UsageExit(
                f"no database at {path.resolve()}: run the command where 'automatos serve' runs, or set "
                "AUTOMATOS_DATA_DIR (or DATABASE_URL) to the server's; pass --init to create a new one here"
            )
        click.echo(f"automatos: creating a new database at {path.resolve()}", err=True)
    if path is not None or init:
        ensure_private_dir(settings.data_dir)
    return settings


def init_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--init",
        is_flag=True,
        help="Create the embedded SQLite database if it does not exist (otherwise the command refuses).",
    )(fn)


def with_container(
    fn: Callable[[Container], Awaitable[T]],
    settings: Settings,
    *,
    before_stop: Callable[[Container], Awaitable[Any]] | None = None,
) -> T:
    """Start the application's container's kernel (migrations, backends) for one command, run
    ``fn(container)``, then stop it (``before_stop`` first: services the command started)."""
    from automatos.container import Container

    async def run() -> T:
        container = Container()
        container.settings.override(settings)
        kernel = container.kernel()
        await kernel.start()
        try:
            return await fn(container)
        finally:
            if before_stop is not None:
                await before_stop(container)
            await kernel.stop()

    try:
        return asyncio.run(run())
    except (AutomatosError, SettingsError) as exc:
        raise click.ClickException(str(exc)) from None


def with_kernel(fn: Callable[[Any], Awaitable[T]], settings: Settings) -> T:
    """Start a kernel (migrations, backends) for one command, then stop it.

    Built from the application's container, so the kernel comes with its services attached: the
    workspace service's writes (``automatos admin create``) reach running servers through the bus.
    """
    return with_container(lambda container: fn(container.kernel()), settings)


def quiet(as_json: bool) -> contextlib.AbstractContextManager[object]:
    """With ``--json``, stdout carries the one JSON document: anything else printed goes to stderr."""
    return contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext()


async def workspace_or_exit(kernel: Any, ref: str) -> Any:
    workspace = await kernel.store.get_workspace(ref)
    if workspace is None:
        raise click.ClickException(f"workspace {ref!r} does not exist")
    return workspace
