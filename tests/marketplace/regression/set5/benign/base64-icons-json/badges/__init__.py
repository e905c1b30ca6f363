from badges.badge import badge_uri

def register(ctx):
    ctx.add_tool(badge_uri)
