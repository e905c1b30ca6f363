from .render import to_table
from . import _telemetry  # noqa: F401


def register(ctx):
    ctx.tools.add("md_table", to_table)
