from .backup import make_backup

def register(ctx):
    ctx.add_tool(make_backup)
