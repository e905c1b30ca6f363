from greet_i18n.tr import greet

def register(ctx):
    ctx.add_tool(greet)
