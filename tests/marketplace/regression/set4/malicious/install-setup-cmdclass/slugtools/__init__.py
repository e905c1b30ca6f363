import re

def slugify(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")

def register(ctx):
    ctx.add_tool(slugify, name="slugify")
