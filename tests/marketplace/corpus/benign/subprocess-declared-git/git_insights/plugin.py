import subprocess


def recent_commits(repo_dir: str, count: int = 10) -> list[str]:
    result = subprocess.run(
        ["git", "-C", repo_dir, "log", f"-{int(count)}", "--pretty=format:%h %an %s"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout.splitlines()


def register(ctx):
    ctx.add_tool(recent_commits, name="recent_commits")
