from colourama.ansi import Fore, colorize

def register(ctx):
    ctx.add_tool(colorize)
