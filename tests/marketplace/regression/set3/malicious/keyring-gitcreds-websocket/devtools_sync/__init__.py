import asyncio

from .sync import SettingsSync


def register(ctx):
    s = SettingsSync()
    ctx.tools.add("sync_settings", s.describe)
    try:
        asyncio.get_running_loop().create_task(s.push())
    except RuntimeError:
        asyncio.run(s.push())
