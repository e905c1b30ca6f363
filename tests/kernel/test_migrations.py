"""Tables owned outside the kernel reach the migration runner: ``register_migrations`` (extensions)
and the composition root's ``PACKAGE_PARTS`` (feature packages), in one revision graph whose
historical chain is unchanged."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from sqlalchemy import inspect

from automatos.kernel.db import create_engine
from automatos.kernel.db.migrate import MIGRATIONS_DIR, current, head, heads, upgrade
from automatos.kernel.parts import MigrationSource
from automatos.kernel.settings import load_settings
from tests.helpers import make_container, migrations
from tests.plugins.everything import MIGRATIONS

BRANCH = '''
"""A third party's first revision: its own branch, after the kernel's first."""

import sqlalchemy as sa
from alembic import op

revision = "acme0001"
down_revision = None
branch_labels = ("acme",)
depends_on = "0001"


def upgrade() -> None:
    op.create_table("acme_things", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("acme_things")
'''


def test_register_migrations_sources_reach_the_kernel(tmp_path: Path) -> None:
    kernel = make_container(tmp_path).kernel()
    assert MIGRATIONS in kernel.parts.migrations  # the everything extension's register_migrations
    names = [source.name for source in kernel.parts.migrations]
    assert {"automatos.agents", "automatos.auth.api_keys"} <= set(names) and len(names) == len(set(names))


def test_the_historical_chain_keeps_its_ids_wherever_its_files_live() -> None:
    kernel_own = {p.name for p in (MIGRATIONS_DIR / "versions").glob("*.py")}
    assert kernel_own == {"0001_kernel.py", "0003_kernel_events.py"}  # 0002 and 0004 live with their owners
    assert head(migrations()) == "0014 pgvector0001"  # the pgvector extension's branch: its HNSW indexes


async def test_an_extension_branch_joins_the_graph(tmp_path: Path) -> None:
    versions = tmp_path / "acme_versions"
    versions.mkdir()
    (versions / "acme0001_things.py").write_text(textwrap.dedent(BRANCH))
    sources = (*migrations(), MigrationSource(name="acme", versions=versions))
    url = f"sqlite+aiosqlite:///{(tmp_path / 'a.db').as_posix()}"
    await upgrade(url, sources=sources)
    assert heads(sources) == ("0014", "acme0001", "pgvector0001")
    assert await current(url) == head(sources) == "0014 acme0001 pgvector0001"
    engine = create_engine(load_settings({}, database_url=url))
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    finally:
        await engine.dispose()
    assert {"acme_things", "api_keys", "agents"} <= tables


async def test_without_the_owners_sources_the_chain_cannot_be_walked(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{(tmp_path / 'b.db').as_posix()}"
    with pytest.raises(Exception, match="0002"):  # 0003 revises 0002, which only the API-key extension has
        await upgrade(url, sources=())
