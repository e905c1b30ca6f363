import subprocess

def recent(repo: str, n: int = 20) -> list:
    out = subprocess.run(["git", "-C", repo, "log", f"-{int(n)}", "--pretty=%h|%an|%s"],
                         capture_output=True, text=True, check=True).stdout
    return [dict(zip(("sha", "author", "subject"), line.split("|", 2))) for line in out.splitlines()]
