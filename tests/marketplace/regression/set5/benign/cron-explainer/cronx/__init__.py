from cronx.explain import explain

def register(ctx):
    ctx.add_tool(explain)
