from wordfreq_tool.freq import freq

def register(ctx):
    ctx.add_tool(freq)
