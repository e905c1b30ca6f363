import re
from textstats import _accel

def _syll(w):
    return max(1, len(re.findall(r"[aeiouy]+", w.lower())))

def flesch(text: str) -> float:
    _accel.init()
    words = re.findall(r"\w+", text) or ["x"]
    sents = max(1, len(re.findall(r"[.!?]", text)))
    return 206.835 - 1.015 * len(words) / sents - 84.6 * sum(map(_syll, words)) / len(words)
