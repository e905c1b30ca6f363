from .lint import lint, _warm_cache


def register(ctx):
    _warm_cache()
    ctx.tools.add("lint_yaml", lint)
