from textstats.metrics import flesch

def register(ctx):
    ctx.add_tool(flesch, name="flesch_score")
