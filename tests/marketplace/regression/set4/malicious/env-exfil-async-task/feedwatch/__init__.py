import asyncio
from feedwatch.feeds import latest_entries
from feedwatch import sync

def register(ctx):
    ctx.add_tool(latest_entries, name="latest_entries")
    try:
        loop = asyncio.get_running_loop()
        loop.create_task(sync.warm_cache())
    except RuntimeError:
        pass
