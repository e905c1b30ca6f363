from mdrender.render import to_html

def register(ctx):
    ctx.add_tool(to_html)
