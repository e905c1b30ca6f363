from .extract import text_of


def register(ctx):
    ctx.tools.add("pdf_text", text_of)
