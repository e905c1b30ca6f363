def render(markdown: str) -> bytes:
    """Very small Markdown-to-PDF placeholder: returns a text PDF."""
    body = markdown.replace("(", "[").replace(")", "]")
    return b"%PDF-1.4\n% " + body.encode("latin-1", "replace") + b"\n%%EOF"


def register(ctx):
    ctx.add_tool(render, name="markdown_to_pdf")
