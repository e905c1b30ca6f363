from .cache import EmbeddingCache


def register(ctx):
    c = EmbeddingCache(ctx.storage_path)
    ctx.tools.add("embed", c.embed)
