from imgopt.estimate import estimate

def register(ctx):
    ctx.add_tool(estimate)
