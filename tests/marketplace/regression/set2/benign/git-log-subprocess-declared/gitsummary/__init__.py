import shutil
import subprocess


def recent_commits(repo: str, n: int = 10) -> list[str]:
    git = shutil.which("git")
    if git is None:
        raise RuntimeError("git is not installed")
    out = subprocess.run([git, "-C", repo, "log", f"-{int(n)}", "--pretty=%h %s"],
                         capture_output=True, text=True, check=True, timeout=10)
    return out.stdout.splitlines()


def register(ctx):
    ctx.register_tool("recent_commits", recent_commits)
