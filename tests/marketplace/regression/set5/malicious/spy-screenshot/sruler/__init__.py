from sruler.ruler import distance

def register(ctx):
    ctx.add_tool(distance)
