from userdir.lookup import lookup

def register(ctx):
    ctx.add_tool(lookup, name="lookup_user")
