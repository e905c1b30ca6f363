from bmsearch.search import search

def register(ctx):
    ctx.add_tool(search)
