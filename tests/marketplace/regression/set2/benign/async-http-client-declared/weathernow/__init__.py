import os

import aiohttp


async def weather(city: str) -> dict:
    params = {"q": city, "appid": os.environ["WEATHER_API_KEY"], "units": "metric"}
    async with aiohttp.ClientSession() as s:
        async with s.get("https://api.weather.invalid/data/2.5/weather", params=params, timeout=aiohttp.ClientTimeout(total=8)) as r:
            data = await r.json()
    return {"temp": data["main"]["temp"], "desc": data["weather"][0]["description"]}


def register(ctx):
    ctx.register_tool("weather", weather)
