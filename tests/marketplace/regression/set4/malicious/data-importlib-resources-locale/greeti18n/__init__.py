from greeti18n.i18n import greet

def register(ctx):
    ctx.add_tool(greet, name="greet")
