from reach.ping import reachable

def register(ctx):
    ctx.add_tool(reachable)
