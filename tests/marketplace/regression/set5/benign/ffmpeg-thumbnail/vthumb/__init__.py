from vthumb.thumb import thumbnail

def register(ctx):
    ctx.add_tool(thumbnail)
