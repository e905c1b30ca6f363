from seometa.check import check_page

def register(ctx):
    ctx.add_tool(check_page)
