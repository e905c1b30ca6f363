from imgresize.resize import thumbnail

def register(ctx):
    ctx.add_tool(thumbnail, name="thumbnail")
