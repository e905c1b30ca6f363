import collections, re

def freq(text: str, top: int = 10) -> list:
    return collections.Counter(re.findall(r"\w+", text.lower())).most_common(top)
