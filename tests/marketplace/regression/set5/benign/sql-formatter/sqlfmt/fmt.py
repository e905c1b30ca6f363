import re

KEYWORDS = ["SELECT", "FROM", "WHERE", "GROUP BY", "ORDER BY", "HAVING", "LIMIT", "JOIN", "LEFT JOIN", "UNION"]

def format_sql(sql: str) -> str:
    s = " ".join(sql.split())
    for kw in sorted(KEYWORDS, key=len, reverse=True):
        s = re.sub(rf"\s*\b{kw}\b", "\n" + kw, s, flags=re.I)
    return s.strip()
