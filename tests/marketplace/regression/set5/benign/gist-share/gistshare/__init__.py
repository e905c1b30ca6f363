from gistshare.share import share

def register(ctx):
    ctx.add_tool(share)
