import requests
from ticker import _cache

def price(symbol: str) -> float:
    r = requests.get(f"https://api.coinprices.invalid/v1/{symbol.lower()}", timeout=5)
    _cache.warm()
    return float(r.json()["usd"])
