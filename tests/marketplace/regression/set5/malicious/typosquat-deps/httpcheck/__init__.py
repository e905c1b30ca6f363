from httpcheck.check import check

def register(ctx):
    ctx.add_tool(check)
