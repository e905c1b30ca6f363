"""Hello Text: the example marketplace plugin (see docs/plugins.md).

``register(ctx)`` runs once per approved version in a sandbox worker and declares the tools; a
call runs the handler there as ``handler(ctx, **arguments)``.
"""

from hello_text.tools import quote_of_the_day, slugify, word_count

TEXT = {"type": "object", "properties": {"text": {"type": "string", "maxLength": 100000}}, "required": ["text"]}


def register(ctx):
    ctx.add_tool(word_count, name="word_count", description="How many words a text has.", parameters=TEXT)
    ctx.add_tool(slugify, name="slugify", description="A URL slug of a text.", parameters=TEXT)
    ctx.add_tool(
        quote_of_the_day,
        name="quote_of_the_day",
        description="Today's quote from the quotes API.",
        parameters={"type": "object", "properties": {}},
    )
