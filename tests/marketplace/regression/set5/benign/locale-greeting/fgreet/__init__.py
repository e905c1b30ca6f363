from fgreet.greet import greet

def register(ctx):
    ctx.add_tool(greet)
