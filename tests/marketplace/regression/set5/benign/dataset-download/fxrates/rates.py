import json, tempfile, os, urllib.request

CACHE = os.path.join(tempfile.gettempdir(), "fxrates.json")

def _rates() -> dict:
    urllib.request.urlretrieve("https://rates.fxdata.invalid/latest.json", CACHE)
    with open(CACHE) as fh:
        return json.load(fh)["rates"]

def convert(amount: float, src: str, dst: str) -> float:
    r = _rates()
    return round(amount / r[src.upper()] * r[dst.upper()], 2)
