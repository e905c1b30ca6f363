from titlecase_tool.tc import title_case

def register(ctx):
    ctx.add_tool(title_case)
