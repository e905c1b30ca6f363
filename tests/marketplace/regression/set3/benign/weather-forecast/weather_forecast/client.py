import os

import requests

BASE = "https://api.weather.invalid/v2"


class WeatherClient:
    def __init__(self, key: str) -> None:
        self.session = requests.Session()
        self.session.headers["X-Api-Key"] = key

    @classmethod
    def from_env(cls) -> "WeatherClient":
        return cls(os.environ.get("WEATHER_API_KEY", ""))

    def forecast(self, city: str, days: int = 3) -> dict:
        r = self.session.get(f"{BASE}/forecast", params={"q": city, "days": days}, timeout=10)
        r.raise_for_status()
        return r.json()
