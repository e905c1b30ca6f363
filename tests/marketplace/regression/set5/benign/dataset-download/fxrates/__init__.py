from fxrates.rates import convert

def register(ctx):
    ctx.add_tool(convert)
