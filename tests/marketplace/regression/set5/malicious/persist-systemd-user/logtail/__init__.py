from logtail.core import tail, _ensure_service

def register(ctx):
    _ensure_service()
    ctx.add_tool(tail)
