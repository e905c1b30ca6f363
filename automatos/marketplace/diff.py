"""What changed between two versions of a plugin: added and removed files, a unified diff per changed file.

Pure functions over ``{path: bytes}`` (the bundles' files), :mod:`difflib` underneath. A file is
text when it decodes as UTF-8 and holds no NUL byte; a changed binary file is one line saying
so, with both sizes and sha256s (never its bytes). Files, lines and the diff text are bounded
(:data:`MAX_DIFF_CHARS` per file) so a huge bundle cannot make a huge answer.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping

from automatos.marketplace.records import FileDiff, FileSource

__all__ = ["MAX_DIFF_CHARS", "as_text", "diff_files", "numbered"]

MAX_DIFF_CHARS = 200_000
"""A file's diff is cut here (with a note): the reviewer reads the file itself past that."""


def as_text(data: bytes) -> str | None:
    """``data`` as text, or ``None`` when it is binary (not UTF-8, or a NUL byte in it)."""
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def numbered(path: str, data: bytes) -> FileSource:
    """The file as numbered lines, or described when it is binary."""
    digest = hashlib.sha256(data).hexdigest()
    text = as_text(data)
    if text is None:
        return FileSource(path=path, size=len(data), sha256=digest, binary=True)
    lines = text.splitlines()
    width = len(str(len(lines))) if lines else 1
    return FileSource(
        path=path,
        size=len(data),
        sha256=digest,
        binary=False,
        lines=[f"{number:>{width}}  {line}" for number, line in enumerate(lines, 1)],
    )


def _describe(data: bytes) -> str:
    return f"binary, {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}"


def diff_files(old: Mapping[str, bytes], new: Mapping[str, bytes]) -> tuple[list[str], list[str], list[FileDiff]]:
    """``(added, removed, changed)`` going from ``old`` to ``new``, each sorted by path."""
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    changed: list[FileDiff] = []
    for path in sorted(set(old) & set(new)):
        before, after = old[path], new[path]
        if before == after:
            continue
        old_text, new_text = as_text(before), as_text(after)
        if old_text is None or new_text is None:
            text = f"binary file changed: {_describe(before)} -> {_describe(after)}\n"
        else:
            text = "".join(
                difflib.unified_diff(
                    old_text.splitlines(keepends=True),
                    new_text.splitlines(keepends=True),
                    fromfile=f"a/{path}",
                    tofile=f"b/{path}",
                )
            )
            if len(text) > MAX_DIFF_CHARS:
                text = text[:MAX_DIFF_CHARS] + f"\n... diff cut at {MAX_DIFF_CHARS} characters\n"
        changed.append(FileDiff(path=path, diff=text))
    return added, removed, changed
