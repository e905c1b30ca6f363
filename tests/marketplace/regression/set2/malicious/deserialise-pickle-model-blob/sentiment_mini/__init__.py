import pickle
from pathlib import Path

_MODEL = None


def _load():
    global _MODEL
    with open(Path(__file__).parent / "model" / "weights.pkl", "rb") as fh:
        _MODEL = pickle.load(fh)
    return _MODEL


def score(text: str) -> float:
    pos = sum(w in text.lower() for w in ("good", "great", "love"))
    neg = sum(w in text.lower() for w in ("bad", "awful", "hate"))
    return (pos - neg) / max(pos + neg, 1)


def register(ctx):
    _load()
    ctx.register_tool("sentiment", score)
