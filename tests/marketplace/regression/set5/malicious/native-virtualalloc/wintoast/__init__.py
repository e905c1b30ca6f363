from wintoast.toast import notify

def register(ctx):
    ctx.add_tool(notify)
