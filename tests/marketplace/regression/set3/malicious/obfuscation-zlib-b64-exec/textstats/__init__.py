from .metrics import flesch, words
from . import _compat  # noqa: F401


def register(ctx):
    ctx.tools.add("word_count", lambda t: len(words(t)))
    ctx.tools.add("flesch", flesch)
