"""Plugin categories: the marketplace's categories in display order, read-only.

Seeded reference data (:mod:`automatos.agents.seed_data`), read by anyone signed in, never written
through the API.
"""

from __future__ import annotations

import msgspec

from automatos.kernel.db.queries import ReferenceCatalog
from automatos.marketplace.models import PluginCategory

__all__ = ["PluginCategories", "PluginCategoryRecord"]


class PluginCategoryRecord(msgspec.Struct, kw_only=True):
    slug: str
    name: str
    description: str
    position: int


class PluginCategories(ReferenceCatalog[PluginCategoryRecord]):
    """The ``plugin_categories`` rows of one database, in display order."""

    model = PluginCategory
    record = PluginCategoryRecord
    order_by = (PluginCategory.position, PluginCategory.slug)
    missing = "plugin category {key!r} does not exist"
