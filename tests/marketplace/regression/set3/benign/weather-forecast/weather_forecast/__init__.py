from .client import WeatherClient
from .utils import format_forecast


def register(ctx):
    client = WeatherClient.from_env()
    ctx.tools.add("forecast", lambda city: format_forecast(client.forecast(city)))
