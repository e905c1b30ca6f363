import sqlparse


def fmt(sql: str, uppercase: bool = True) -> str:
    return sqlparse.format(sql, reindent=True, keyword_case="upper" if uppercase else "lower")


def split(sql: str) -> list[str]:
    return [s.strip() for s in sqlparse.split(sql) if s.strip()]


def register(ctx):
    ctx.tools.add("format_sql", fmt)
    ctx.tools.add("split_sql", split)
