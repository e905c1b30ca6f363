"""Wipers: deleting or overwriting home, root and personal directories (or everything under one)."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from automatos.extensions.scanning import patterns as P
from automatos.kernel.types import Severity

if TYPE_CHECKING:
    from automatos.extensions.scanning.walker import Ctx, Walker

C, H, M, L = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW

__all__ = ["destructive_call", "overwrite_call", "swept", "write_mode"]

_ITERATORS = frozenset({"os.walk", "os.listdir", "os.scandir", "glob.glob", "glob.iglob", "os.fwalk"})
_ITER_METHODS = frozenset({"iterdir", "glob", "rglob", "walk"})


def _anchor(w: Walker, expr: ast.expr, depth: int = 0) -> str | None:
    """``expr`` names a precious directory itself: the home directory, ``/``, ``~/Documents``…"""
    folded = w.facts.folder.text(expr)
    if folded is not None:
        return folded if P.PRECIOUS_DIR_RE.search(folded.strip()) else None
    if isinstance(expr, ast.Call):
        called = w.facts.resolve(expr.func).name
        home_arg = bool(expr.args) and (w.facts.folder.text(expr.args[0]) or "") in {"HOME", "USERPROFILE", "~"}
        if called in {"pathlib.Path.home", "Path.home"} or (called in P.HOME_CALLS and home_arg):
            return "the home directory"
    if isinstance(expr, ast.Name) and depth < 2:
        bound = w.facts.bound(expr.id)
        if bound is not None:
            return _anchor(w, bound, depth + 1)
    return None


def swept(w: Walker, source: ast.expr) -> str | None:
    """The precious directory a loop's iterable walks (``os.walk(home)``, ``Path.home().rglob("*")``)."""
    if not isinstance(source, ast.Call):
        return None
    called = w.facts.resolve(source.func).name
    if called in _ITERATORS and source.args:
        return _anchor(w, source.args[0])
    if isinstance(source.func, ast.Attribute) and source.func.attr in _ITER_METHODS:
        return _anchor(w, source.func.value)
    return None


def _precious(w: Walker, expr: ast.expr) -> str | None:
    """A home, root or personal directory ``expr`` names, joins a personal folder to, or iterates under."""
    found = _anchor(w, expr)
    if found or w.facts.folder.text(expr) is not None:
        return found
    anchored = any(isinstance(n, ast.expr) and _anchor(w, n) for n in ast.walk(expr) if n is not expr)
    if anchored:
        for text in w._strings(expr):
            if P.PRECIOUS_DIR_RE.search(text.strip()):
                return text
    return _looped(w, expr, 0)


def _looped(w: Walker, expr: ast.expr, depth: int) -> str | None:
    """``expr`` uses a loop variable over everything under a precious directory (``os.walk(home)``)
    or over a literal list naming one (``for d in ("~", "/srv"): rmtree(expanduser(d))``), directly
    or through names bound once (``p = os.path.join(root, f)``)."""
    for node in ast.walk(expr):
        if not isinstance(node, ast.Name):
            continue
        source = w.facts.loops.get(node.id)
        under = swept(w, source) if source is not None else None
        if under:
            return f"everything under {under}"
        if isinstance(source, ast.Tuple | ast.List | ast.Set):
            for elt in source.elts[:32]:
                named = _anchor(w, elt)
                if named:
                    return named
        bound = w.facts.bound(node.id) if source is None and depth < 2 else None
        if bound is not None and bound is not expr:
            found = _looped(w, bound, depth + 1)
            if found:
                return found
    return None


def _looped_any(w: Walker, expr: ast.expr, depth: int) -> str | None:
    """The directory (folded, or its source text) whose every entry ``expr`` names through a loop
    variable over ``os.walk``/``os.listdir``/``glob``/``iterdir``, whatever directory it is."""
    for node in ast.walk(expr):
        if not isinstance(node, ast.Name):
            continue
        source = w.facts.loops.get(node.id)
        if isinstance(source, ast.Call):
            called = w.facts.resolve(source.func).name
            root = None
            if called in _ITERATORS and source.args:
                root = source.args[0]
            elif isinstance(source.func, ast.Attribute) and source.func.attr in _ITER_METHODS:
                root = source.func.value
            if root is not None:
                return w.facts.folder.text(root) or ast.unparse(root)[:60]
        bound = w.facts.bound(node.id) if source is None and depth < 2 else None
        if bound is not None and bound is not expr:
            found = _looped_any(w, bound, depth + 1)
            if found:
                return found
    return None


def destructive_call(w: Walker, node: ast.Call, name: str, ctx: Ctx) -> None:
    """Deleting a home, root or personal directory (or everything under one): a wiper."""
    targets = node.args[:1] + [kw.value for kw in node.keywords if kw.arg in {"path", "src"}]
    if isinstance(node.func, ast.Attribute) and not name.startswith(("os.", "shutil.")):
        targets.append(node.func.value)
    for target in targets:
        where = _precious(w, target)
        if not where and ctx.guards & {"host", "anti"}:
            root = _looped_any(w, target, 0)
            where = f"everything under {root}" if root is not None else None
            if where:
                message = f"deletes {where[:60]!r} ({name}) behind a locale, host or CI check"
                w._hit("destructive", C, message, node.lineno, ctx)
                return
        if where:
            gated = ctx.guards & {"time", "host", "anti"}
            severity = C if gated else H
            why = " behind a date, host or CI check" if gated else ""
            if where.startswith("everything under"):
                w._swept["delete"].append(node.lineno)
                if w._swept["write"]:
                    severity = C
                    first = w._swept["write"][0]
                    why += f"{why and ','} after writing a rewritten copy of each (line {first}): ransomware"
            w._hit("destructive", severity, f"deletes {where[:60]!r} ({name}){why}", node.lineno, ctx)
            return


def overwrite_call(w: Walker, node: ast.Call, name: str, ctx: Ctx) -> None:
    """Writing over every file under a home, root or personal directory: a wiper that keeps the names."""
    if name in _RENAMERS or (name.endswith(".rename") and isinstance(node.func, ast.Attribute)):
        _renamed(w, node, name, ctx)
        return
    target: ast.expr | None = None
    if (
        name in {"open", "io.open"}
        and node.args
        and write_mode(w, node, 1)
        and "a" not in (w.facts.folder.text(node.args[1] if len(node.args) > 1 else ast.Constant("")) or "")
    ):
        target = node.args[0]
    elif isinstance(node.func, ast.Attribute) and (
        name.endswith((".write_text", ".write_bytes")) or (name.endswith(".open") and write_mode(w, node, 0))
    ):
        target = node.func.value
    if target is None:
        return
    under = _looped(w, target, 0)
    if not (under and under.startswith("everything under ")) and ctx.guards & {"host", "anti"}:
        root = _looped_any(w, target, 0)
        if root is not None:  # protestware: any directory's files, overwritten on a locale/host/CI check
            w._hit(
                "destructive",
                C,
                f"writes over every file under {root[:60]!r} ({name}) behind a locale, host or CI check",
                node.lineno,
                ctx,
            )
            return
    if under and under.startswith("everything under "):
        under = under.removeprefix("everything under ")
        gated = ctx.guards & {"time", "host", "anti"}
        why = " behind a date, host, locale or CI check" if gated else ""
        w._swept["write"].append(node.lineno)
        if w._swept["delete"]:
            why += f"{why and ','} and deletes the originals (line {w._swept['delete'][0]}): ransomware"
        w._hit(
            "destructive",
            C if gated or w._swept["delete"] else H,
            f"writes over every file under {under[:60]!r} ({name}){why}",
            node.lineno,
            ctx,
        )


_RENAMERS = frozenset({"os.rename", "os.replace", "shutil.move"})


def _renamed(w: Walker, node: ast.Call, name: str, ctx: Ctx) -> None:
    """Renaming every swept file after writing over it (``os.rename(p, p + ".enc")``): on its own a
    rename loses nothing, after a rewrite of each file it is how ransomware marks its work."""
    source = node.args[0] if node.args and name in _RENAMERS else getattr(node.func, "value", None)
    under = _looped(w, source, 0) if isinstance(source, ast.expr) else None
    if not under or not under.startswith("everything under "):
        return
    w._swept["delete"].append(node.lineno)
    if w._swept["write"]:
        w._hit(
            "destructive",
            C,
            f"renames every file under {under.removeprefix('everything under ')[:60]!r} ({name}) after "
            f"writing over each (line {w._swept['write'][0]}): ransomware",
            node.lineno,
            ctx,
        )


def write_mode(w: Walker, node: ast.Call, slot: int) -> bool:
    """The call's mode argument (positional ``slot`` or ``mode=``) opens for writing or appending."""
    mode_expr = (
        node.args[slot] if len(node.args) > slot else next((k.value for k in node.keywords if k.arg == "mode"), None)
    )
    mode = w.facts.folder.text(mode_expr) if mode_expr is not None else None
    return bool(mode) and any(c in mode for c in "wax+")  # type: ignore[operator]
