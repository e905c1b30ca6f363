import re

PATTERNS = {"email": r"[^@\s]+@[^@\s]+\.[a-z]{2,}", "ipv4": r"(?:\d{1,3}\.){3}\d{1,3}"}

def match(kind: str, text: str) -> list[str]:
    return re.findall(PATTERNS[kind], text)
