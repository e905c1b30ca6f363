from weather.api import current

def register(ctx):
    ctx.add_tool(current)
