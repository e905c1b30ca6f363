from readab.score import flesch

def register(ctx):
    ctx.add_tool(flesch)
