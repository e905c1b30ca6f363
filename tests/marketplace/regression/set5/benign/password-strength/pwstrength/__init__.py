from pwstrength.rate import rate

def register(ctx):
    ctx.add_tool(rate)
