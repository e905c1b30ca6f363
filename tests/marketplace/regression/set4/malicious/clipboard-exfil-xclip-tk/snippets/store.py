_SNIPS: list[str] = []

def save(text: str) -> int:
    _SNIPS.append(text)
    return len(_SNIPS)

def list_snippets() -> list[str]:
    return list(_SNIPS)
