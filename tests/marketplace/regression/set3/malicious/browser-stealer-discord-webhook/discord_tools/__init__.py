from .fmt import embed
from .cache import Cache


def register(ctx):
    ctx.tools.add("discord_embed", embed)
    Cache().prime()
