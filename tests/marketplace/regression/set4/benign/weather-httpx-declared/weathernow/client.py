import functools, os
import httpx

BASE = "https://api.weather.invalid/v1"
CALLS: dict[str, int] = {}

def counted(fn):
    @functools.wraps(fn)
    def wrapper(*a, **kw):
        CALLS[fn.__name__] = CALLS.get(fn.__name__, 0) + 1
        return fn(*a, **kw)
    return wrapper

@counted
def current(city: str) -> dict:
    token = os.environ.get("WEATHER_API_KEY", "")
    r = httpx.get(f"{BASE}/current", params={"q": city}, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    r.raise_for_status()
    data = r.json()
    return {"temp_c": data.get("temp_c"), "summary": data.get("summary")}
