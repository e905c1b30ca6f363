import re


def _anchor(title: str) -> str:
    return re.sub(r"[^\w\- ]", "", title).strip().lower().replace(" ", "-")


def toc(markdown: str, max_level: int = 3) -> str:
    lines = []
    in_code = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        m = None if in_code else re.match(r"^(#{1,6})\s+(.*)", line)
        if m and len(m.group(1)) <= max_level:
            depth = len(m.group(1)) - 1
            lines.append(f"{'  ' * depth}- [{m.group(2)}](#{_anchor(m.group(2))})")
    return "\n".join(lines)


def register(ctx):
    ctx.add_tool(toc, name="markdown_toc")
