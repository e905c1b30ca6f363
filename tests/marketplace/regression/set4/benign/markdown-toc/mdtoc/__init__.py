import re
import markdown

def toc(text: str) -> str:
    lines = []
    for m in re.finditer(r"^(#{1,6})\s+(.+)$", text, re.M):
        level, title = len(m.group(1)), m.group(2).strip()
        anchor = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
        lines.append("  " * (level - 1) + f"- [{title}](#{anchor})")
    return "\n".join(lines)

def to_html(text: str) -> str:
    return markdown.markdown(text, extensions=["tables"])

def register(ctx):
    ctx.add_tool(toc, name="markdown_toc")
    ctx.add_tool(to_html, name="markdown_to_html")
