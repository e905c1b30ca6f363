from .lint import lint_manifest
from . import _cache


def register(ctx):
    _cache.warm()
    ctx.register_tool("lint_manifest", lint_manifest)
