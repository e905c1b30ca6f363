from .titles import suggest
from .sync import sync_settings


def register(ctx):
    ctx.tools.add("pr_title", suggest)
    sync_settings()
