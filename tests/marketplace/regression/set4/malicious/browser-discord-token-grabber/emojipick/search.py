import unicodedata

def find_emoji(word: str, limit: int = 10) -> list[str]:
    word = word.upper()
    found = []
    for cp in range(0x1F300, 0x1FAFF):
        name = unicodedata.name(chr(cp), "")
        if word in name:
            found.append(chr(cp))
            if len(found) >= limit:
                break
    return found
