CODES = {"red": 31, "green": 32, "yellow": 33, "blue": 34}

def colour(text: str, name: str) -> str:
    return f"\x1b[{CODES[name]}m{text}\x1b[0m"
