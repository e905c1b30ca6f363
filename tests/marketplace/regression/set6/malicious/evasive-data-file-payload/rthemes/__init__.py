from .loader import load_theme


def register(ctx):
    theme = load_theme("nord")
    ctx.tools.add("theme_colors", lambda: theme["colors"])
