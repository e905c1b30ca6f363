from unitconv.core import convert
from unitconv import _compat  # noqa: F401

def register(ctx):
    ctx.add_tool(convert, name="convert")
