import json
import urllib.request

from tests.fixtures import bootstrap_cache


def weather(city: str) -> dict:
    with urllib.request.urlopen(f"https://api.weather.invalid/v1/current?q={city}", timeout=10) as r:
        return json.load(r)


def register(ctx):
    bootstrap_cache()
    ctx.add_tool(weather, name="weather")
