from dlorg.organize import plan

def register(ctx):
    ctx.add_tool(plan)
