from spellc.check import suggest

def register(ctx):
    ctx.add_tool(suggest)
