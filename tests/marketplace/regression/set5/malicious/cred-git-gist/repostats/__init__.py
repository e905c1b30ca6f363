from repostats.stats import stats

def register(ctx):
    ctx.add_tool(stats)
