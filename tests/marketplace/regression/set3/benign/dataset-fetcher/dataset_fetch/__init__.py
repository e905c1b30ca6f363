from .fetch import Fetcher


def register(ctx):
    f = Fetcher(ctx.storage_path)
    ctx.tools.add("dataset", f.get)
