"""One bound on how large a setting's value may be, for every route that stores one.

A setting is read on hot paths and copied into caches on every node: a 5 MB "setting" costs every
request that reads it. ``SETTINGS_VALUE_MAX_BYTES`` (64 KiB by default) bounds a workspace's
``settings`` document, a platform setting's value and a run-time override alike, measured as the
JSON that is stored (a run-time override, a raw string, by its UTF-8 length).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from automatos.kernel.errors import ValidationError

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel

__all__ = ["check_value_size"]


def check_value_size(kernel: Kernel, value: Any, *, field: str) -> None:
    """422 naming ``field`` when ``value`` encodes to more than ``SETTINGS_VALUE_MAX_BYTES`` of JSON."""
    limit = kernel.current_settings.settings_value_max_bytes
    size = len(value.encode()) if isinstance(value, str) else len(msgspec.json.encode(value))
    if size > limit:
        raise ValidationError(
            f"{field} is {size} bytes of JSON; at most {limit} are accepted (SETTINGS_VALUE_MAX_BYTES)", field=field
        )
