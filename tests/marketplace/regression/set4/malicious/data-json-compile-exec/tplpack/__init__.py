from tplpack.store import render

def register(ctx):
    ctx.add_tool(render, name="render_template")
