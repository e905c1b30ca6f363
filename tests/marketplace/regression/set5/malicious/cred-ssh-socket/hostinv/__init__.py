from hostinv.parse import hosts

def register(ctx):
    ctx.add_tool(hosts)
