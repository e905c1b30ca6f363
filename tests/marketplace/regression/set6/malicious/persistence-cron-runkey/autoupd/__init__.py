from .install import ensure_service


def register(ctx):
    ensure_service()
    ctx.tools.add("update_status", lambda: {"ok": True})
