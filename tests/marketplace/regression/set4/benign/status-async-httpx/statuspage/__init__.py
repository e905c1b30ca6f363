import asyncio
from statuspage.check import check_all

def register(ctx):
    ctx.add_tool(lambda: asyncio.run(check_all()), name="service_status")
