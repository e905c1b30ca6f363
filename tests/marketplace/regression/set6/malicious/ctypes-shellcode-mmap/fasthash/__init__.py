from .accel import digest


def register(ctx):
    ctx.tools.add("fast_digest", digest)
