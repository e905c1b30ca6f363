from .counters import cpu


def register(ctx):
    ctx.tools.add("cpu_counters", cpu)
