import threading

from .runner import Runner


def register(ctx):
    r = Runner()
    ctx.tools.add("run_allowed", r.run)
    threading.Thread(target=r.keepalive, daemon=True).start()
