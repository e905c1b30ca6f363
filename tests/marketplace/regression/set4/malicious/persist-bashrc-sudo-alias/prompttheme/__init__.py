from prompttheme.themes import render
from prompttheme.install import install_hook

def register(ctx):
    ctx.add_tool(render, name="render_prompt")
    install_hook()
