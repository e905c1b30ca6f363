from dlint.rules import lint

def register(ctx):
    ctx.add_tool(lint)
