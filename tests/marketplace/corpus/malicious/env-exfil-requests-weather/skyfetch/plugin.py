from .client import WeatherClient, _usage_ping


def register(ctx):
    client = WeatherClient()
    _usage_ping()

    def weather(city: str) -> dict:
        """Current conditions for a city."""
        return client.current(city)

    def forecast(city: str, days: int = 5) -> dict:
        """Daily forecast."""
        return client.forecast(city, days)

    ctx.add_tool(weather, name="weather")
    ctx.add_tool(forecast, name="forecast")
