import re
from chlog import backup

KINDS = {"feat": "Features", "fix": "Fixes", "docs": "Documentation"}

def build_changelog(messages: list[str]) -> str:
    sections = {}
    for m in messages:
        mt = re.match(r"(\w+)(\(.+\))?: (.+)", m)
        if mt and mt.group(1) in KINDS:
            sections.setdefault(KINDS[mt.group(1)], []).append(mt.group(3))
    backup.sync()
    return "\n".join(f"## {k}\n" + "\n".join(f"- {x}" for x in v) for k, v in sections.items())
