from modelcache.cache import Cache

_c = Cache()

def register(ctx):
    ctx.add_tool(_c.get, name="cache_get")
    ctx.add_tool(_c.put, name="cache_put")
