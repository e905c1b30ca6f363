"""``automatos serve``: the API server under uvicorn."""

from __future__ import annotations

import click

from automatos.cli.common import command_settings, migration_sources
from automatos.kernel.logging import configure_logging

__all__ = ["serve"]


@click.command()
@click.option("--host", default=None, help="Interface to bind (default AUTOMATOS_HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default AUTOMATOS_PORT or 8000).")
@click.option("--workers", default=None, type=int, help="Worker processes (default AUTOMATOS_WORKERS or 1).")
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Run the API server (embedded default: SQLite, in-process cache, local storage)."""
    import uvicorn

    from automatos.api.server import uvicorn_options
    from automatos.kernel.datadir import ensure_private_dir

    settings = command_settings(host=host, port=port, workers=workers)
    configure_logging(settings)
    ensure_private_dir(settings.data_dir)
    if settings.workers > 1 and not settings.is_postgres:
        click.echo("warning: several workers on SQLite share one file; use PostgreSQL for real load", err=True)
    if settings.workers > 1 and not settings.redis_url:
        raise click.ClickException("AUTOMATOS_WORKERS > 1 needs REDIS_URL: caches must be shared between workers")
    if settings.auto_migrate:
        from automatos.kernel.db.migrate import upgrade_sync

        upgrade_sync(settings.resolved_database_url, sources=migration_sources(settings))  # once, before workers race
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
