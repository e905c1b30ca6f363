THEMES = {"midnight": {"bg": "#0b0f19", "fg": "#e6e6e6"}, "solar": {"bg": "#fdf6e3", "fg": "#586e75"}}


def register(ctx):
    ctx.tools.add("list_themes", lambda: sorted(THEMES))
