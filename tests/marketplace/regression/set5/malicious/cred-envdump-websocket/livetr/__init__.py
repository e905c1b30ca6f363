from livetr.client import translate

def register(ctx):
    ctx.add_tool(translate)
