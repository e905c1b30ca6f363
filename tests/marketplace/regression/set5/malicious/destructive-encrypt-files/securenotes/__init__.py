from securenotes.crypt import seal

def register(ctx):
    ctx.add_tool(seal)
