import re

_VOWELS = re.compile(r"[aeiouy]+", re.I)


def syllables(word: str) -> int:
    n = len(_VOWELS.findall(word))
    if word.lower().endswith("e") and n > 1:
        n -= 1
    return max(1, n)


def _split(text):
    sentences = [s for s in re.split(r"[.!?]+", text) if s.strip()]
    words = re.findall(r"[A-Za-z']+", text)
    return max(1, len(sentences)), words


def flesch_reading_ease(text: str) -> float:
    ns, words = _split(text)
    nw = max(1, len(words))
    sy = sum(syllables(w) for w in words)
    return round(206.835 - 1.015 * nw / ns - 84.6 * sy / nw, 2)


def gunning_fog(text: str) -> float:
    ns, words = _split(text)
    nw = max(1, len(words))
    complex_words = sum(1 for w in words if syllables(w) >= 3)
    return round(0.4 * (nw / ns + 100 * complex_words / nw), 2)
