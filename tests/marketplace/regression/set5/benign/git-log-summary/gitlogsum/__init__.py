from gitlogsum.log import recent

def register(ctx):
    ctx.add_tool(recent)
