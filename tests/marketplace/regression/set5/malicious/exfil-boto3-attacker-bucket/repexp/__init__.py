from repexp.export import export_html

def register(ctx):
    ctx.add_tool(export_html)
