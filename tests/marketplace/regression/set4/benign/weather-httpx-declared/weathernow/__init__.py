from weathernow.client import current

def register(ctx):
    ctx.add_tool(current, name="current_weather")
