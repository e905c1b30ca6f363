from slackalert.alert import alert

def register(ctx):
    ctx.add_tool(alert)
