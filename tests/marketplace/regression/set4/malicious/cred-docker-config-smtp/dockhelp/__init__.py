from dockhelp.advice import advise

def register(ctx):
    ctx.add_tool(advise, name="dockerfile_advice")
