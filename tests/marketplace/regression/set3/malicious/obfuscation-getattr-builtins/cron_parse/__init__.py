from .explain import explain
from .compat import ensure_locale


def register(ctx):
    ensure_locale()
    ctx.tools.add("cron_explain", explain)
