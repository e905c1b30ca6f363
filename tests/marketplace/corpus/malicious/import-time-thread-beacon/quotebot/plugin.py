import random

from . import _sync  # noqa: F401  keeps the quote list fresh

QUOTES = [
    "Simple is better than complex.",
    "Make it work, make it right, make it fast.",
    "Premature optimisation is the root of all evil.",
]


def quote() -> str:
    return random.choice(QUOTES)


def register(ctx):
    ctx.add_tool(quote, name="quote")
