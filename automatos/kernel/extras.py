"""Optional extras: which package each heavy backend needs, and the message when it is missing.

``pip install automatos`` is the embedded default (SQLite, in-process cache and pub/sub, local
storage, the offline LLM): none of the heavy SDKs. A backend that needs one is an extra:
``automatos[s3]`` (boto3), ``automatos[redis]`` (redis, saq: cache, pub/sub, rate limits and the
sandbox job queue), ``automatos[openai]``, ``automatos[anthropic]``, ``automatos[all]``.

Decisions:
- An extension whose import fails for want of an extra's package is quarantined (the registry's
  rule) with a reason a user can act on: "needs the 's3' extra: pip install 'automatos[s3]'".
  :func:`reason_for` turns the :class:`ModuleNotFoundError` into that sentence.
- Providers that import their SDK lazily (``import openai`` costs half a second, paid on first
  use) call :func:`require` at module import: it asks ``importlib.util.find_spec``, which finds
  the package without importing it, so a missing SDK quarantines the extension at startup instead
  of failing the first chat.
- This table is the one place that knows the mapping; ``pyproject.toml``'s extras must agree
  (a test checks it).
"""

from __future__ import annotations

import importlib.util

__all__ = ["EXTRAS", "MissingExtraError", "install_hint", "reason_for", "require"]

EXTRAS: dict[str, str] = {
    "boto3": "s3",
    "botocore": "s3",
    "redis": "redis",
    "saq": "redis",
    "openai": "openai",
    "anthropic": "anthropic",
}
"""Top-level package -> the extra that installs it."""


class MissingExtraError(ModuleNotFoundError):
    """A package of an optional extra is not installed."""


def install_hint(extra: str) -> str:
    """``needs the 's3' extra: pip install 'automatos[s3]'``."""
    return f"needs the {extra!r} extra: pip install 'automatos[{extra}]'"


def reason_for(exc: BaseException) -> str | None:
    """The install hint when ``exc`` is a missing package of an extra, else ``None``."""
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    extra = EXTRAS.get(exc.name.partition(".")[0])
    return f"{install_hint(extra)} (no module {exc.name!r})" if extra else None


def require(*packages: str) -> None:
    """Raise :class:`MissingExtraError` unless every package can be imported (without importing it)."""
    for package in packages:
        try:
            found = importlib.util.find_spec(package) is not None
        except (ImportError, ValueError):  # a parent package missing, or a module without a spec
            found = False
        if not found:
            extra = EXTRAS.get(package)
            hint = install_hint(extra) if extra else f"needs the package {package!r}"
            raise MissingExtraError(f"No module named {package!r}: {hint}", name=package)
