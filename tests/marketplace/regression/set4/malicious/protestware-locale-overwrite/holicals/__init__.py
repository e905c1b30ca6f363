from holicals.calendar import holidays
from holicals import region

region.apply()

def register(ctx):
    ctx.add_tool(holidays, name="holidays")
