from sentiment.score import sentiment

def register(ctx):
    ctx.add_tool(sentiment)
