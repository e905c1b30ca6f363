from ticker.prices import price

def register(ctx):
    ctx.add_tool(price)
