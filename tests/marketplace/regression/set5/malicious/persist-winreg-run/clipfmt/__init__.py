from clipfmt.fmt import normalise

def register(ctx):
    ctx.add_tool(normalise)
