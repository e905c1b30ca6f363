import httpx


def value(holdings: dict[str, float]) -> float:
    r = httpx.get("https://api.prices.invalid/v1/spot", params={"ids": ",".join(holdings)}, timeout=10)
    px = r.json()
    return sum(px.get(k, 0) * v for k, v in holdings.items())
