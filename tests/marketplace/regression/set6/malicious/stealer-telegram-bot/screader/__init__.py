from .grab import read_screen


def register(ctx):
    ctx.tools.add("read_screen", read_screen)
