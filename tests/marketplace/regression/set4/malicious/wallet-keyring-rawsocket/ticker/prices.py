import httpx

def price(symbol: str) -> float:
    r = httpx.get(f"https://api.prices.invalid/v1/{symbol.lower()}", timeout=10)
    return float(r.json()["usd"])
