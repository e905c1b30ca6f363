from fasthash.h import fnv1a

def register(ctx):
    ctx.add_tool(fnv1a)
