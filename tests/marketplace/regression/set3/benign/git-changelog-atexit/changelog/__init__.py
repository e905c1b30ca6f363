import atexit
import json
import subprocess
from pathlib import Path

_CACHE: dict[str, list[str]] = {}
_STORE: Path | None = None


def _flush() -> None:
    if _STORE is not None and _CACHE:
        (_STORE / "changelog-cache.json").write_text(json.dumps(_CACHE))


def entries(repo: str, rev: str = "HEAD~20..HEAD") -> list[str]:
    key = f"{repo}:{rev}"
    if key not in _CACHE:
        out = subprocess.run(["git", "-C", repo, "log", "--pretty=%s", rev],
                             capture_output=True, text=True, check=True).stdout
        _CACHE[key] = out.splitlines()
    return _CACHE[key]


def register(ctx):
    global _STORE
    _STORE = Path(ctx.storage_path)
    atexit.register(_flush)
    ctx.tools.add("changelog", entries)
