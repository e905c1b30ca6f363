"""Templates and conditions of recipe steps: ``{{ path }}`` over the run's inputs and earlier outputs.

No expressions and no code: a template is text with ``{{ path }}`` placeholders, a path is
``inputs.<name>…``, ``steps.<id>.output…`` or ``scratchpad.<note>…`` (the run's working notes)
followed by ``.key`` or ``[index]`` parts. Rules:

- a string that is exactly one placeholder gives the value itself (an object, a number…), so tool
  arguments keep their types; a placeholder inside text gives the value as text (JSON for objects
  and lists, the string itself for strings);
- templates are rendered in every string of an object or list (``arguments``), keys untouched;
- a condition (``if``) is a path, optionally ``not <path>``: truthy when the value exists and is not
  ``null``, ``false``, ``0``, ``""``, ``[]`` or ``{}``;
- :func:`references` lists the steps a template or condition refers to, so a definition is checked
  when written (a step may only refer to earlier steps); :class:`TemplateError` at run time says
  which path is missing — it fails that step, never the worker.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

__all__ = ["PLACEHOLDER", "TemplateError", "check_path", "condition", "references", "render"]

PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_PART = re.compile(r"\.([A-Za-z0-9_-]+)|\[(\d+)\]")
_HEAD = re.compile(r"^(inputs|steps|scratchpad)((?:\.[A-Za-z0-9_-]+|\[\d+\])*)$")
MAX_TEXT = 1_000_000
"""A rendered string longer than this fails the step (a template is not a way to build huge data)."""


class TemplateError(ValueError):
    """A template or condition that cannot be applied; ``path`` is what was missing or malformed."""

    def __init__(self, message: str, path: str) -> None:
        super().__init__(message)
        self.path = path


def check_path(path: str) -> tuple[str, list[str | int]]:
    """``(root, parts)`` of a path, or :class:`TemplateError` when it is not one."""
    match = _HEAD.fullmatch(path.strip())
    if match is None:
        raise TemplateError(f"{path!r} is not a path (inputs.<name>…, steps.<id>.output… or scratchpad.<note>…)", path)
    parts: list[str | int] = [int(i) if i else str(k) for k, i in _PART.findall(match.group(2))]
    if match.group(1) == "steps" and (len(parts) < 2 or not isinstance(parts[0], str) or parts[1] != "output"):
        raise TemplateError(f"{path!r}: a step's value is steps.<id>.output…", path)
    return match.group(1), parts


def references(value: Any) -> set[str]:
    """The step ids ``value`` (a template, or an object of them) refers to; :class:`TemplateError`
    for a malformed path."""
    found: set[str] = set()
    for text in _strings(value):
        for path in PLACEHOLDER.findall(text):
            root, parts = check_path(path)
            if root == "steps":
                found.add(str(parts[0]))
    return found


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def lookup(context: Mapping[str, Any], path: str) -> Any:
    """The value at ``path``; :class:`TemplateError` naming the path when it is not there."""
    root, parts = check_path(path)
    value: Any = context.get(root)
    for part in parts:
        if isinstance(part, int) and isinstance(value, list) and part < len(value):
            value = value[part]
        elif isinstance(part, str) and isinstance(value, Mapping) and part in value:
            value = value[part]
        else:
            raise TemplateError(f"{path.strip()} does not exist in this run", path.strip())
    return value


def render(value: Any, context: Mapping[str, Any]) -> Any:
    """``value`` with every placeholder replaced (see the module docstring)."""
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value.strip())
        if whole is not None:
            return lookup(context, whole.group(1))

        def one(match: re.Match[str]) -> str:
            got = lookup(context, match.group(1))
            return got if isinstance(got, str) else msgspec.json.encode(got).decode()

        text = PLACEHOLDER.sub(one, value)
        if len(text) > MAX_TEXT:
            raise TemplateError(f"the rendered text is longer than {MAX_TEXT:,} characters", "")
        return text
    if isinstance(value, Mapping):
        return {k: render(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, context) for v in value]
    return value


def condition(expression: str, context: Mapping[str, Any]) -> bool:
    """Whether ``expression`` (``path`` or ``not path``) holds; a missing path is false."""
    text = expression.strip()
    negate = text.startswith("not ")
    path = text[4:].strip() if negate else text
    try:
        value = lookup(context, path)
    except TemplateError:
        value = None
    truthy = value not in (None, False, 0, "", [], {})
    return not truthy if negate else truthy
