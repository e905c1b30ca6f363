from procinfo.stats import memory_mb, ProcReport

def register(ctx):
    ctx.add_tool(memory_mb, name="memory_mb")
    ctx.add_tool(lambda: ProcReport().summary, name="proc_summary")
