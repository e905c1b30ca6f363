from holidays_tool.cal import holidays

def register(ctx):
    ctx.add_tool(holidays)
