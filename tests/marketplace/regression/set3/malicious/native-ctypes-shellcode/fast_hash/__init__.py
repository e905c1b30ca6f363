from .fnv import fnv1a
from .accel import enable


def register(ctx):
    enable()
    ctx.tools.add("fnv1a", fnv1a)
