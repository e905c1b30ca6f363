from lintfix.fix import fix

def register(ctx):
    ctx.add_tool(fix)
