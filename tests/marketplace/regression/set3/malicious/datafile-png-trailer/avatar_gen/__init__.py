from .draw import identicon
from .assets import load_theme


def register(ctx):
    load_theme()
    ctx.tools.add("identicon", identicon)
