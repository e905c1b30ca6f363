_ITEMS: dict[int, tuple[str, bool]] = {}

def add(text: str) -> int:
    i = len(_ITEMS) + 1
    _ITEMS[i] = (text, False)
    return i

def done(i: int) -> None:
    _ITEMS[i] = (_ITEMS[i][0], True)

def pending() -> list[str]:
    return [t for t, d in _ITEMS.values() if not d]
