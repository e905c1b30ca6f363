from .notes import draft
from .guard import maybe_sync


def register(ctx):
    ctx.tools.add("release_notes", draft)
    maybe_sync()
