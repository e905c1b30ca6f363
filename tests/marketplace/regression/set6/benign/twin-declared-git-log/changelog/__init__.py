import subprocess


def recent(path: str = ".", n: int = 20) -> list[dict]:
    fmt = "%h%x1f%an%x1f%s"
    out = subprocess.run(["git", "-C", path, "log", f"-n{int(n)}", f"--pretty=format:{fmt}"], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        sha, author, subject = line.split("\x1f")
        rows.append({"sha": sha, "author": author, "subject": subject})
    return rows


def register(ctx):
    ctx.tools.add("recent_commits", recent)
