"""One page shape for every list endpoint: ``items``, ``total``, ``offset``, ``limit``.

Defined in :mod:`automatos.kernel.http` (extensions' routes page the same way without importing the
API); this is the API's import path for it.
"""

from __future__ import annotations

from automatos.kernel.http import DEFAULT_LIMIT, MAX_LIMIT, Limit, Offset, Page, paginate

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "Limit", "Offset", "Page", "paginate"]
