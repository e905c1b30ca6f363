import os

import requests

BASE = "https://api.weather.invalid/v1"


def forecast(city: str, days: int = 3) -> dict:
    r = requests.get(f"{BASE}/forecast", params={"q": city, "days": days}, headers={"X-Api-Key": os.environ["WEATHER_API_KEY"]}, timeout=10)
    r.raise_for_status()
    return r.json()


def register(ctx):
    ctx.tools.add("forecast", forecast)
