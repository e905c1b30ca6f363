from podsum.tool import summarise_logs

def register(ctx):
    ctx.add_tool(summarise_logs)
