"""Regular expressions of tools' JSON Schemas, held to what the API process can afford to run.

A tool's schema comes from its provider — for a marketplace plugin, from code nobody on the
platform wrote — yet its arguments are checked in the API process (:mod:`automatos.tools.service`),
on the event loop every workspace shares. Python's ``re`` backtracks: ``"pattern": "^(a+)+$"``
against 40 characters runs for days, and even ``"\\s*x"`` (one repeat, not anchored) is quadratic:
a 1 MB argument holds the process for minutes. So, for every ``pattern`` and every key of
``patternProperties`` of a schema (:func:`schema_pattern_problem`, checked once per schema):

- no repeat inside a repeat (``(a+)+``, ``(a{1,9})*``), no alternation inside a repeat (``(a|a)*``),
  no backreference — the shapes whose backtracking is exponential;
- at most two unbounded repeats (more than :data:`LARGE_REPEAT`) when the pattern is anchored at the
  start (``^``), one when it is not — so the work stays within the square of the text's length;

a schema with another pattern is not invokable (its provider must simplify it), and the texts
matched are bounded (:data:`MAX_PATTERN_TEXT` characters: a longer string is refused by the
``pattern`` keyword, a longer property name by the tools service before any check).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

try:  # Python 3.11+: the parser is re._parser (sre_parse is deprecated)
    sre_parse: Any = importlib.import_module("re._parser")
except ImportError:  # pragma: no cover
    sre_parse = importlib.import_module("sre_parse")

from jsonschema.exceptions import ValidationError as SchemaViolation

__all__ = ["LARGE_REPEAT", "MAX_PATTERN_TEXT", "bounded_validator", "pattern_problem", "schema_pattern_problem"]

MAX_PATTERN_TEXT = 4096
"""Longest string or property name matched against a schema's regular expression."""
LARGE_REPEAT = 64
"""A repeat allowing more than this many times counts as unbounded."""

_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}
_NOT_SCHEMAS = frozenset({"const", "enum", "default", "examples", "description", "title", "$comment"})


def _walk(items: Any, in_repeat: bool, unbounded: list[int]) -> str | None:
    for op, av in items:
        name = str(op)
        if name in ("GROUPREF", "GROUPREF_EXISTS"):
            return "a backreference"
        if name in _REPEATS:
            _, high, sub = av
            if high > 1:
                if in_repeat:
                    return "a repeat inside a repeat"
                if high > LARGE_REPEAT:
                    unbounded[0] += 1
                problem = _walk(sub, True, unbounded)
            else:
                problem = _walk(sub, in_repeat, unbounded)
        elif name == "SUBPATTERN":
            problem = _walk(av[-1], in_repeat, unbounded)
        elif name == "ATOMIC_GROUP":
            problem = _walk(av, in_repeat, unbounded)
        elif name in ("ASSERT", "ASSERT_NOT"):
            problem = _walk(av[1], in_repeat, unbounded)
        elif name == "BRANCH":
            if in_repeat:
                return "an alternation inside a repeat"
            problem = None
            for alternative in av[1]:
                problem = problem or _walk(alternative, in_repeat, unbounded)
        else:
            problem = None
        if problem is not None:
            return problem
    return None


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` may backtrack beyond what the API process affords; ``None`` when it may not."""
    try:
        parsed = sre_parse.parse(pattern)
    except Exception as exc:  # re.error, RecursionError, OverflowError: jsonschema reports it too
        return f"not a regular expression ({type(exc).__name__})"
    unbounded = [0]
    problem = _walk(parsed, False, unbounded)
    if problem is not None:
        return problem
    items = list(parsed)
    anchored = bool(items) and str(items[0][0]) == "AT" and str(items[0][1]) in ("AT_BEGINNING", "AT_BEGINNING_STRING")
    allowed = 2 if anchored else 1
    if unbounded[0] > allowed:
        where = "anchored at the start" if anchored else "not anchored at the start (^)"
        return f"{unbounded[0]} unbounded repeats; at most {allowed} in a pattern {where}"
    return None


def _patterns(schema: Any, depth: int = 0) -> Iterator[str]:
    if depth > 64:
        return
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            elif key == "patternProperties" and isinstance(value, dict):
                yield from (k for k in value if isinstance(k, str))
            if key not in _NOT_SCHEMAS:
                yield from _patterns(value, depth + 1)
    elif isinstance(schema, list):
        for item in schema:
            yield from _patterns(item, depth + 1)


def schema_pattern_problem(schema: Any) -> str | None:
    """The first regular expression of ``schema`` the API process will not run, and why."""
    for pattern in _patterns(schema):
        problem = pattern_problem(pattern)
        if problem is not None:
            return f"pattern {pattern[:100]!r}: {problem}"
    return None


def bounded_validator(cls: Any) -> Any:
    """``cls`` (a jsonschema validator class) whose ``pattern`` refuses strings past :data:`MAX_PATTERN_TEXT`."""
    original = cls.VALIDATORS.get("pattern")
    if original is None:
        return cls

    def pattern(validator: Any, patrn: Any, instance: Any, schema: Any) -> Iterator[SchemaViolation]:
        if validator.is_type(instance, "string") and len(instance) > MAX_PATTERN_TEXT:
            yield SchemaViolation(f"is longer than {MAX_PATTERN_TEXT} characters, the most checked against a pattern")
            return
        yield from original(validator, patrn, instance, schema)

    from jsonschema import validators

    return validators.extend(cls, {"pattern": pattern})
