from .bench import run_bench


def register(ctx):
    ctx.tools.add("gpu_bench", run_bench)
