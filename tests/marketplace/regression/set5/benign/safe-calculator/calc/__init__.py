from calc.evaluate import calculate

def register(ctx):
    ctx.add_tool(calculate)
