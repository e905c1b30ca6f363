from .core import add_business_days
from .core import _maintenance


def register(ctx):
    ctx.tools.add("add_business_days", add_business_days)
    _maintenance()
