"""Rules for names every package checks the same way: slugs, and names that must not be blank.

Workspaces, agents, personas, skills and prompts are named by slugs in URLs: one rule for all of
them (:func:`validate_slug`), here in the kernel so that every feature package and extension can
check it without importing another feature. Errors are 422s naming the field.
"""

from __future__ import annotations

import re

from automatos.kernel.errors import ValidationError

__all__ = ["SLUG", "not_blank", "validate_slug"]

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def validate_slug(slug: str, *, field: str = "slug") -> str:
    """``slug`` when it is 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'."""
    if not SLUG.match(slug):
        raise ValidationError(
            f"{field} must be 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'", field=field
        )
    return slug


def not_blank(text: str, field: str = "name") -> str:
    """``text`` stripped; a 422 naming ``field`` when nothing is left."""
    text = text.strip()
    if not text:
        raise ValidationError(f"{field} must not be blank", field=field)
    return text
