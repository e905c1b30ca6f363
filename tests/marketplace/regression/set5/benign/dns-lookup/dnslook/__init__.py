from dnslook.resolve import resolve

def register(ctx):
    ctx.add_tool(resolve)
