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

The same rules serve every other regular expression a tenant writes and the platform runs — a
routing rule's ``regex`` (:mod:`automatos.routing.rules`, the rules tier). :func:`compile_safe`
compiles one for that use, with a time-safe engine when there is one:

- **RE2** (``google-re2``, a dependency: a wheel of ~0.6 MB, no dependencies, BSD licence), when installed:
  an automaton, linear in the text by construction, whatever the pattern — ``\\s*x`` over 4,096
  spaces takes 0.02 ms where Python's ``re`` takes 33 ms, so 1,000 rules stay within a millisecond
  whatever a workspace admin writes. It has no backreference and no lookaround (refused, with
  RE2's reason), and its ``\\b``, ``\\w``, ``\\d`` are ASCII (``\\pL`` is any letter; ``(?i)`` folds
  Unicode case);
- otherwise Python's ``re``, after :func:`pattern_problem` refused the shapes above.

Many patterns at once (:class:`PatternSet`, a routing tier's 1,000 rules): one RE2 ``Set``, one pass
over the text whatever their number (2 µs where 1,000 searches take 3 ms); with ``re``, one search each.
Either way the text is bounded (:func:`search_bounded`: the first ``limit`` characters,
:data:`MAX_PATTERN_TEXT` by default) and a compiled pattern is kept (:func:`compile_safe` is cached).
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

try:  # Python 3.11+: the parser is re._parser (sre_parse is deprecated)
    sre_parse: Any = importlib.import_module("re._parser")
except ImportError:  # pragma: no cover
    sre_parse = importlib.import_module("sre_parse")

try:  # the time-safe engine (google-re2); Python's re with pattern_problem's checks without it
    re2: Any = importlib.import_module("re2")
except ImportError:  # pragma: no cover - exercised by forcing the engine in tests
    re2 = None

__all__ = [
    "ENGINE",
    "LARGE_REPEAT",
    "MAX_PATTERN_LENGTH",
    "MAX_PATTERN_TEXT",
    "CompiledPattern",
    "PatternSet",
    "UnsafePattern",
    "bounded_validator",
    "compile_safe",
    "pattern_problem",
    "schema_pattern_problem",
    "search_bounded",
]

MAX_PATTERN_TEXT = 4096
"""Longest string or property name matched against a schema's regular expression."""
LARGE_REPEAT = 64
"""A repeat allowing more than this many times counts as unbounded."""
MAX_PATTERN_LENGTH = 1000
"""Longest pattern :func:`compile_safe` compiles."""
ENGINE = "re2" if re2 is not None else "re"
"""The engine :func:`compile_safe` uses by default: ``re2`` when ``google-re2`` is installed."""

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
    from jsonschema import validators
    from jsonschema.exceptions import ValidationError as SchemaViolation

    original = cls.VALIDATORS.get("pattern")
    if original is None:
        return cls

    def pattern(validator: Any, patrn: Any, instance: Any, schema: Any) -> Iterator[SchemaViolation]:
        if validator.is_type(instance, "string") and len(instance) > MAX_PATTERN_TEXT:
            yield SchemaViolation(f"is longer than {MAX_PATTERN_TEXT} characters, the most checked against a pattern")
            return
        yield from original(validator, patrn, instance, schema)

    return validators.extend(cls, {"pattern": pattern})


class UnsafePattern(ValueError):
    """A pattern :func:`compile_safe` will not run; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CompiledPattern(Protocol):
    """What :func:`compile_safe` answers: an ``re.Pattern``, or RE2's equivalent."""

    @property
    def pattern(self) -> str: ...

    def search(self, text: str) -> Any: ...


def compile_safe(pattern: str, *, engine: str | None = None) -> CompiledPattern:
    """``pattern`` compiled to run in this process on any text in linear (RE2) or bounded (``re``) time.

    ``engine``: ``re2`` or ``re`` (default :data:`ENGINE`). Raises :class:`UnsafePattern` with the
    reason for a pattern longer than :data:`MAX_PATTERN_LENGTH`, one that does not compile, one RE2
    cannot run (backreferences, lookaround) and, with ``re``, one :func:`pattern_problem` refuses
    (nested or alternated repeats, backreferences, too many unbounded repeats). Cached.
    """
    return _compile(pattern, engine or ENGINE)


@functools.lru_cache(maxsize=4096)
def _compile(pattern: str, engine: str) -> CompiledPattern:
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise UnsafePattern(f"longer than {MAX_PATTERN_LENGTH} characters")
    if engine == "re2":
        if re2 is None:
            raise UnsafePattern("the RE2 engine (google-re2) is not installed")
        options = re2.Options()
        options.log_errors = False  # a refused pattern is the caller's mistake: no line on stderr
        try:
            compiled: CompiledPattern = re2.compile(pattern, options)
        except Exception as exc:  # re2.error; a pattern too large for max_mem
            raise UnsafePattern(f"not a pattern RE2 runs: {_reason(exc)}") from None
        return compiled
    if engine != "re":
        raise ValueError(f"unknown engine {engine!r}")
    try:
        compiled = re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        raise UnsafePattern(f"not a regular expression: {_reason(exc)}") from None
    problem = pattern_problem(pattern)
    if problem is not None:
        raise UnsafePattern(problem)
    return compiled


def _reason(exc: BaseException) -> str:
    text = exc.args[0] if exc.args else exc
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return str(text)[:200]


def search_bounded(pattern: CompiledPattern, text: str, limit: int = MAX_PATTERN_TEXT) -> Any:
    """``pattern.search`` over the first ``limit`` characters of ``text`` (the match, or ``None``)."""
    return pattern.search(text[:limit] if len(text) > limit else text)


class PatternSet:
    """Patterns searched together: :meth:`search` answers the indices (in ``patterns``) of those found.

    Every pattern must be one :func:`compile_safe` accepts (it is checked again: :class:`UnsafePattern`).
    With RE2 the set is one automaton; should it outgrow RE2's memory, each pattern is searched alone.
    """

    def __init__(self, patterns: Sequence[str], *, engine: str | None = None) -> None:
        self.patterns = tuple(patterns)
        self._each = [compile_safe(p, engine=engine) for p in self.patterns]
        self._set: Any = None
        if (engine or ENGINE) == "re2" and self.patterns:
            options = re2.Options()
            options.log_errors = False
            try:
                compiled = re2.Set.SearchSet(options)
                for pattern in self.patterns:
                    compiled.Add(pattern)
                compiled.Compile()
                self._set = compiled
            except Exception:  # too large for one automaton: one search each (still linear)
                self._set = None

    def search(self, text: str, limit: int = MAX_PATTERN_TEXT) -> set[int]:
        bounded = text[:limit] if len(text) > limit else text
        if self._set is not None:
            try:
                return set(self._set.Match(bounded) or ())
            except Exception:  # the DFA ran out of memory on this text: one search each
                pass
        return {i for i, pattern in enumerate(self._each) if pattern.search(bounded) is not None}
