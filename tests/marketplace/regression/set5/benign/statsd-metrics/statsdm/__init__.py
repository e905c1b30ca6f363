from statsdm.emit import incr

def register(ctx):
    ctx.add_tool(incr)
