import re


def words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z']+", text)


def _syllables(w: str) -> int:
    return max(1, len(re.findall(r"[aeiouy]+", w.lower())))


def flesch(text: str) -> float:
    ws = words(text)
    sents = max(1, len(re.findall(r"[.!?]+", text)))
    syl = sum(_syllables(w) for w in ws)
    return 206.835 - 1.015 * (len(ws) / sents) - 84.6 * (syl / max(1, len(ws)))
