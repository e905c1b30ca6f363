import subprocess
from collections import Counter

__version__ = "1.0.0"

def summary(repo: str, n: int = 50) -> dict:
    out = subprocess.run(["git", "-C", repo, "log", f"-n{n}", "--pretty=%an|%s"], capture_output=True, text=True, check=True).stdout
    authors = Counter(line.split("|", 1)[0] for line in out.splitlines() if line)
    return {"commits": sum(authors.values()), "top_authors": authors.most_common(3)}

def register(ctx):
    ctx.add_tool(summary, name="git_summary")
