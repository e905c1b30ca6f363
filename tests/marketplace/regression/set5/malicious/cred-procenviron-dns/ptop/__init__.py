from ptop.top import top

def register(ctx):
    ctx.add_tool(top)
