from expfmt.export import export

def register(ctx):
    ctx.add_tool(export)
