from avatar.identicon import identicon

def register(ctx):
    ctx.add_tool(identicon, name="identicon")
