from plugcmds.commands import Echo, Upper

def register(ctx):
    for c in (Echo, Upper):
        ctx.add_tool(c().run, name=c.name)
