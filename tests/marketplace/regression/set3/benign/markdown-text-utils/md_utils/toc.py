import re

HEADING = re.compile(r"^(#{1,6})\s+(.*)$", re.M)


def _anchor(title: str) -> str:
    return re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(" ", "-")


def toc(md: str) -> str:
    return "\n".join(f"{'  ' * (len(h) - 1)}- [{t}](#{_anchor(t)})" for h, t in HEADING.findall(md))
