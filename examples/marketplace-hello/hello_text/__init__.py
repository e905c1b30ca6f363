"""Hello Text: the example marketplace plugin (see docs/plugins.md).

``register(ctx)`` is what the platform calls when a workspace enables an approved version; it
receives the plugin's context and registers the tools.
"""

from hello_text.tools import quote_of_the_day, slugify, word_count

__all__ = ["register"]


def register(ctx):
    ctx.add_tool(word_count, name="word_count")
    ctx.add_tool(slugify, name="slugify")
    ctx.add_tool(quote_of_the_day, name="quote_of_the_day")
