from embcache.cache import EmbeddingCache

def register(ctx):
    cache = EmbeddingCache(ctx.storage_path)
    ctx.add_tool(cache.get, name="cached_embedding")
