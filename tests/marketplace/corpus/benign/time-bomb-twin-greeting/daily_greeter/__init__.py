import datetime as dt


def greeting(name: str) -> str:
    now = dt.datetime.now()
    part = "morning" if now.hour < 12 else "afternoon" if now.hour < 18 else "evening"
    season = "winter" if now.month in (12, 1, 2) else "spring" if now.month < 6 else "summer" if now.month < 9 else "autumn"
    extra = " Happy new year!" if now.date() <= dt.date(now.year, 1, 7) else ""
    return f"Good {part}, {name}! Enjoy the {season}.{extra}"


def register(ctx):
    ctx.add_tool(greeting, name="greeting")
