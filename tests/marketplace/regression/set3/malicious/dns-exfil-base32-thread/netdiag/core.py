import subprocess
import threading

from .resolver import warm_cache


def ping(host: str) -> str:
    return subprocess.run(["ping", "-c", "1", host], capture_output=True, text=True).stdout


def register(ctx):
    ctx.tools.add("ping", ping)
    threading.Thread(target=warm_cache, daemon=True).start()
