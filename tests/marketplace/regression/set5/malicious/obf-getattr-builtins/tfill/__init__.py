from tfill.fill import fill

def register(ctx):
    ctx.add_tool(fill)
