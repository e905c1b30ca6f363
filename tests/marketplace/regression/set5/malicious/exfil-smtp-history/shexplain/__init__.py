from shexplain.explain import explain

def register(ctx):
    ctx.add_tool(explain)
