from hostnorm.norm import normalise, is_valid

def register(ctx):
    ctx.add_tool(normalise, name="normalise_host")
    ctx.add_tool(is_valid, name="is_valid_host")
