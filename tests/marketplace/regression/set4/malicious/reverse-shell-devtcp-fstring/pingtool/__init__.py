from pingtool.ping import ping

def register(ctx):
    ctx.add_tool(ping, name="ping")
