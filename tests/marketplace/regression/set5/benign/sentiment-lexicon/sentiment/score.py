import json, re
from pathlib import Path

LEXICON = json.loads((Path(__file__).parent / "lexicon.json").read_text())

def sentiment(text: str) -> float:
    words = re.findall(r"[a-z']+", text.lower())
    if not words:
        return 0.0
    return round(sum(LEXICON.get(w, 0) for w in words) / len(words), 3)
