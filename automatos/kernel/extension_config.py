"""Checking an extension's per-workspace configuration against the schema it declares.

An extension declares a schema with the ``extension_config_schema`` hook (usually a
``msgspec.Struct``); the kernel checks a configuration with :func:`config_problem` when it is
written (``PUT /api/workspaces/{id}/extensions/{name}``: 422 naming the field) and again when a
workspace's view is built (a stored configuration that does not fit keeps the extension out of
that workspace, with the reason shown to its admins). Checking at write time is what turns "every
chat fails with a 502" or "the provider silently disappears" into an answer naming the field.

Field names are ``config`` followed by msgspec's path (``config.timeout``,
``config.models[2]``). A cross-field rule a schema checks in ``__post_init__`` names its field by
starting the message with the field's name and a colon (``"base_url: needs api_key"``).

A rule that depends on the operator's settings cannot live in ``__post_init__`` (msgspec hands a
schema no settings). A schema may define ``settings_problem(self, settings) -> str | None``: when the
kernel's settings are known — a configuration being written — it is called on the converted
configuration, and a message names its field the same way. Reading the switch from the environment
instead would miss every setting given any other way (a settings file, a test's ``load_settings``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

__all__ = ["ConfigProblem", "config_problem", "schema_problem"]

_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_NAMED = re.compile(r"^Object (?:contains unknown|missing required) field `(?P<name>[^`]+)`")
_LEADING_FIELD = re.compile(r"^(?P<name>[A-Za-z_]\w*): ")


class ConfigProblem(msgspec.Struct, frozen=True, kw_only=True):
    """Why a configuration does not fit its schema: the field (``config.<path>``) and the reason."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def schema_problem(schema: Any) -> str | None:
    """Why ``schema`` cannot be used to check configurations, or ``None`` when it can."""
    if not isinstance(schema, type):
        return f"extension_config_schema must return a type, not {schema!r}"
    try:
        msgspec.convert({}, type=schema)
    except msgspec.ValidationError:
        return None  # usable: it just wants something an empty object does not give
    except Exception as exc:  # msgspec cannot convert to it at all (an unsupported type)
        return f"extension_config_schema returned {schema.__name__}, which msgspec cannot convert to: {exc}"
    return None


def config_problem(schema: Any, config: Mapping[str, Any], *, settings: Any = None) -> ConfigProblem | None:
    """What is wrong with ``config`` for ``schema``; ``None`` when it converts.

    With ``settings`` (the kernel's), the schema's ``settings_problem`` (if it has one) also runs.
    """
    try:
        converted = msgspec.convert(dict(config), type=schema)
    except msgspec.ValidationError as exc:
        return _problem(str(exc))
    check = getattr(converted, "settings_problem", None) if settings is not None else None
    if not callable(check):
        return None
    try:
        message = check(settings)
    except Exception as exc:  # the extension's code: its failure is a problem with this config, not a 500
        return ConfigProblem(field="config", message=f"settings_problem failed: {type(exc).__name__}: {exc}")
    return _problem(message) if isinstance(message, str) and message else None


def _problem(text: str) -> ConfigProblem:
    match = _AT.match(text)
    message = match["message"] if match else text
    path = (match["path"] if match else None) or ""
    named = _NAMED.match(message)
    if named is not None:
        path = f"{path}.{named['name']}"
    elif not path and (leading := _LEADING_FIELD.match(message)) is not None:
        path = f".{leading['name']}"
        message = message[leading.end() :]
    return ConfigProblem(field=f"config{path}", message=message)
