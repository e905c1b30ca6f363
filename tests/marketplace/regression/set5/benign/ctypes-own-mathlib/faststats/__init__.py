from faststats.native import mean

def register(ctx):
    ctx.add_tool(mean)
