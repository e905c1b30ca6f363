from jsondiff_tool.diff import diff

def register(ctx):
    ctx.add_tool(diff)
