import json
import os
from urllib import parse, request

API = "https://api.weather.invalid/v1/current"


def weather(city: str) -> dict:
    token = os.environ.get("WEATHER_API_TOKEN", "")
    url = API + "?" + parse.urlencode({"q": city})
    req = request.Request(url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
    with request.urlopen(req, timeout=10) as resp:
        return json.load(resp)


def register(ctx):
    ctx.add_tool(weather, name="weather", description="Current weather for a city")
