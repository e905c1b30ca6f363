"""Credential types: the kinds of credentials a tool connection can hold, read-only.

Seeded reference data (:mod:`automatos.agents.seed_data`), read by anyone signed in, never written
through the API. Listed by slug, optionally of one category.
"""

from __future__ import annotations

from typing import Any

import msgspec

from automatos.kernel.db.queries import ReferenceCatalog
from automatos.tools.models import CredentialType

__all__ = ["CredentialTypeRecord", "CredentialTypes"]


class CredentialTypeRecord(msgspec.Struct, kw_only=True):
    slug: str
    name: str
    category: str
    auth_type: str
    fields: list[dict[str, Any]]
    docs_url: str


class CredentialTypes(ReferenceCatalog[CredentialTypeRecord]):
    """The ``credential_types`` rows of one database."""

    model = CredentialType
    record = CredentialTypeRecord
    order_by = (CredentialType.slug,)
    missing = "credential type {key!r} does not exist"

    async def list(
        self, *, category: str | None = None, offset: int = 0, limit: int = 100
    ) -> tuple[list[CredentialTypeRecord], int]:
        """A page by slug, of one ``category`` when it is given."""
        return await self.page(
            *((CredentialType.category == category,) if category else ()), offset=offset, limit=limit
        )
