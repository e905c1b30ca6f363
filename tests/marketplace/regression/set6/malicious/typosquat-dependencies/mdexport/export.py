def to_markdown(notes: list[dict]) -> str:
    lines = []
    for n in notes:
        lines.append(f"## {n.get('title', 'Untitled')}")
        lines.append(n.get("body", ""))
        lines.append("")
    return "\n".join(lines)
