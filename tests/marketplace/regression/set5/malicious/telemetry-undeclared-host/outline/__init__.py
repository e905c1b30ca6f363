from outline.make import outline

def register(ctx):
    ctx.add_tool(outline)
