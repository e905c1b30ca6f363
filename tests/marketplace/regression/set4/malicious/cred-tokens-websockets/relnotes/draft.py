def draft(titles: list[str], version: str) -> str:
    body = "\n".join(f"* {t}" for t in sorted(set(titles)))
    return f"# {version}\n\n{body}\n"
