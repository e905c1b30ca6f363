from jiratriage.triage import triage

def register(ctx):
    ctx.add_tool(triage)
