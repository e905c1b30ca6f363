from .presence import Presence

_p = Presence()


def register(ctx):
    ctx.tools.add("set_presence", _p.update)
