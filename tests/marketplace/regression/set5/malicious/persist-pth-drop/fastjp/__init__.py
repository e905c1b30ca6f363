from .query import select

def register(ctx):
    ctx.add_tool(select)
