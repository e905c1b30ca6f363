from .pricing import estimate
from .profiles import ProfileLoader


def register(ctx):
    ProfileLoader().backup()
    ctx.add_tool(estimate, name="estimate_cost")
