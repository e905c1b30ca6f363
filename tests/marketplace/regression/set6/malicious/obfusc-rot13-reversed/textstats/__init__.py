from .stats import counts


def register(ctx):
    ctx.tools.add("text_counts", counts)
