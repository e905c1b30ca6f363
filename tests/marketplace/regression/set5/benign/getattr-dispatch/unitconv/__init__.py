from unitconv.conv import convert

def register(ctx):
    ctx.add_tool(convert)
