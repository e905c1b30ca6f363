"""``automatos db …`` (the schema: upgrade, current) and ``automatos seed`` (the reference data)."""

from __future__ import annotations

import asyncio
import json

import click

from automatos.cli.common import data_settings, init_option, migration_sources, quiet

__all__ = ["db", "seed"]


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="heads", show_default=True, help="A revision id, or heads: every branch's newest.")
@init_option
def db_upgrade(revision: str, init: bool) -> None:
    """Apply migrations (SQLite or PostgreSQL; enables pgvector on PostgreSQL)."""
    from automatos.kernel.db.migrate import upgrade_sync

    settings = data_settings(init)
    upgrade_sync(settings.resolved_database_url, revision, sources=migration_sources(settings))
    click.echo(f"database at {revision}")


@db.command("current")
def db_current() -> None:
    """Print the current migration revision."""
    from automatos.kernel.db.migrate import current

    click.echo(asyncio.run(current(data_settings(False).resolved_database_url)) or "(empty)")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object on stdout.")
@init_option
def seed(as_json: bool, init: bool) -> None:
    """Insert or refresh the platform's reference data (models, personas, catalogs, prompts); idempotent."""
    from sqlalchemy import pool
    from sqlalchemy.exc import SQLAlchemyError

    from automatos.agents.seed import SeedReport, run_seed
    from automatos.kernel.db.migrate import current, head, upgrade
    from automatos.kernel.db.session import engine_from_url, make_sessionmaker

    settings = data_settings(init)
    url = settings.resolved_database_url
    sources = migration_sources(settings)

    async def run() -> SeedReport:
        if settings.auto_migrate:
            await upgrade(url, sources=sources)
        elif (revision := await current(url)) != (newest := head(sources)):
            raise click.ClickException(
                f"the database is at {revision or '(empty)'}, not {newest}: run 'automatos db upgrade' first"
            )
        engine = engine_from_url(url, poolclass=pool.NullPool)
        try:
            return await run_seed(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    with quiet(as_json):
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
