from vhelp.text import wrap

def register(ctx):
    ctx.add_tool(wrap)
