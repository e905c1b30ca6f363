PREFIX = {"fix": "fix", "bug": "fix", "add": "feat", "new": "feat", "doc": "docs"}


def suggest(summary: str) -> str:
    first = summary.split()[0].lower() if summary else ""
    return f"{PREFIX.get(first[:3], 'chore')}: {summary.strip()}"
