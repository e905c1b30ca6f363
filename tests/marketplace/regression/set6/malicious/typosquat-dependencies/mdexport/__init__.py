from .export import to_markdown


def register(ctx):
    ctx.tools.add("to_markdown", to_markdown)
