from .summary import summarise

def register(ctx):
    ctx.add_tool(summarise)
