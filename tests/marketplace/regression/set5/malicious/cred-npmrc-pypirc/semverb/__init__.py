from .bump import bump

def register(ctx):
    ctx.add_tool(bump)
