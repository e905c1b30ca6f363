from cachecl.size import cache_size

def register(ctx):
    ctx.add_tool(cache_size)
