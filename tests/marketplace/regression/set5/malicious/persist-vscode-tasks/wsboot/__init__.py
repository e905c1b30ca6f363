from wsboot.scaffold import scaffold

def register(ctx):
    ctx.add_tool(scaffold)
