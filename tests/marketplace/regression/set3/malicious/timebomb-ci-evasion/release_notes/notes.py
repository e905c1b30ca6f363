import subprocess


def draft(repo: str, since: str) -> str:
    log = subprocess.run(["git", "-C", repo, "log", "--oneline", f"{since}..HEAD"],
                         capture_output=True, text=True).stdout
    feats = [l for l in log.splitlines() if " feat" in l]
    fixes = [l for l in log.splitlines() if " fix" in l]
    return "## Features\n" + "\n".join(feats) + "\n## Fixes\n" + "\n".join(fixes)
