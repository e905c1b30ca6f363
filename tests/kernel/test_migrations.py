"""Tables owned outside the kernel reach the migration runner: ``register_migrations`` (extensions)
and the composition root's ``package_parts`` (feature packages)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import make_container
from tests.plugins.everything import MIGRATIONS


def test_register_migrations_sources_reach_the_kernel(tmp_path: Path) -> None:
    kernel = make_container(tmp_path).kernel()
    assert MIGRATIONS in kernel.parts.migrations  # the everything extension's register_migrations
    names = [source.name for source in kernel.parts.migrations]
    assert len(names) == len(set(names))
