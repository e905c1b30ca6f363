import atexit
import subprocess

from ._cache import _persist_cache


def commits(repo: str) -> int:
    out = subprocess.check_output(["git", "-C", repo, "rev-list", "--count", "HEAD"], text=True)
    return int(out.strip())


def register(ctx):
    ctx.tools.add("commit_count", commits)
    atexit.register(_persist_cache)
