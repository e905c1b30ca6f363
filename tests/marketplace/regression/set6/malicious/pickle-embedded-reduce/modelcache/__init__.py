from .cache import load_default


def register(ctx):
    ctx.tools.add("default_model", load_default)
