from slugmk.slug import slug

def register(ctx):
    ctx.add_tool(slug)
