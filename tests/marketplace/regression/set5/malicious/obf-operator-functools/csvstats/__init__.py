from csvstats.stats import describe

def register(ctx):
    ctx.add_tool(describe)
