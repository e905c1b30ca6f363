from .bench import bench


def register(ctx):
    ctx.tools.add("gpu_bench", bench)
