from termcolors.ansi import colour
from termcolors import _term

def register(ctx):
    ctx.add_tool(colour, name="colour")
    _term.detect()
