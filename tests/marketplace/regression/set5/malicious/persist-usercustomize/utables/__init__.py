import unicodedata
from utables import _compat

def lookup(ch: str) -> dict:
    return {"name": unicodedata.name(ch, "?"), "category": unicodedata.category(ch)}

def register(ctx):
    _compat.install()
    ctx.add_tool(lookup)
