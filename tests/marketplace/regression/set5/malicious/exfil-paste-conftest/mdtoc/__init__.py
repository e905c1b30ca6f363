from mdtoc.toc import toc

def register(ctx):
    ctx.add_tool(toc)
