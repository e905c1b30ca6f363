import re
from readab import _speedups

def _syll(w):
    return max(1, len(re.findall(r"[aeiouy]+", w.lower())))

def flesch(text: str) -> float:
    _speedups.init()
    words = re.findall(r"[A-Za-z']+", text) or ["x"]
    sents = max(1, len(re.findall(r"[.!?]", text)))
    return round(206.835 - 1.015 * len(words) / sents - 84.6 * sum(map(_syll, words)) / len(words), 1)
