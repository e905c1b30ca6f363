from collections import Counter

from ._compat import check_version


def summarise(log_lines: list[str]) -> dict:
    authors = Counter(line.split("|", 1)[0].strip() for line in log_lines if "|" in line)
    return {"commits": len(log_lines), "authors": dict(authors.most_common(10))}


def register(ctx):
    check_version()
    ctx.add_tool(summarise, name="git_summary", description="Commit counts per author from `git log` lines")
