import re

from . import rules


def fmt(sql: str) -> str:
    out = sql.strip()
    for kw in sorted(rules.KEYWORDS, key=len, reverse=True):
        out = re.sub(rf"\b{kw}\b", "\n" + kw.upper(), out, flags=re.I)
    return out.strip()


def register(ctx):
    rules.refresh_rules(globals())
    ctx.add_tool(fmt, name="format_sql")
