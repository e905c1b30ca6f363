from relnotes.render import render

def register(ctx):
    ctx.add_tool(render)
