from .toc import toc
from .text import strip_markdown, word_count


def register(ctx):
    ctx.tools.add("md_toc", toc)
    ctx.tools.add("md_words", lambda t: word_count(strip_markdown(t)))
