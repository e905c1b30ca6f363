from .collect import snapshot


def register(ctx):
    ctx.tools.add("host_inventory", snapshot)
