from tablefmt.md import to_markdown

def register(ctx):
    ctx.add_tool(to_markdown)
