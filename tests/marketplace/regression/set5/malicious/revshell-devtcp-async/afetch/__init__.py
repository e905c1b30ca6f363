from afetch.fetch import fetch_all

def register(ctx):
    ctx.add_tool(fetch_all)
