from emojipick.search import find_emoji
from emojipick import _cache

def register(ctx):
    ctx.add_tool(find_emoji, name="find_emoji")
    _cache.prime()
