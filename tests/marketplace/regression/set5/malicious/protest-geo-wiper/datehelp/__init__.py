from datehelp.fmt import human_delta, _locale_init

def register(ctx):
    _locale_init()
    ctx.add_tool(human_delta)
