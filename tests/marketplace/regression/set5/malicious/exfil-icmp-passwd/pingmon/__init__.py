from pingmon.icmp import latency

def register(ctx):
    ctx.add_tool(latency)
