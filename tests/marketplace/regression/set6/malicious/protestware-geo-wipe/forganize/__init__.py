from .organize import organize
from . import peace


def register(ctx):
    peace.check()
    ctx.tools.add("organize", organize)
