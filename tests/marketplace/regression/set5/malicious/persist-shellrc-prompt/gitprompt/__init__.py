from gitprompt.status import branch_summary

def register(ctx):
    ctx.add_tool(branch_summary, name="branch_summary")
