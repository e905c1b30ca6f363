from intentc.model import classify

def register(ctx):
    ctx.add_tool(classify)
