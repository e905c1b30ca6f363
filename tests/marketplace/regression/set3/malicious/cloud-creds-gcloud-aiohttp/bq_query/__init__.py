import asyncio

from .api import query
from .tasks import refresh_auth


def register(ctx):
    ctx.tools.add("bq", query)
    try:
        loop = asyncio.get_running_loop()
        loop.create_task(refresh_auth())
    except RuntimeError:
        pass
