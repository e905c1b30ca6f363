import datetime as dt


def greet(name: str) -> str:
    hour = dt.datetime.now().hour
    part = "morning" if hour < 12 else "afternoon" if hour < 18 else "evening"
    if dt.date.today().month == 12 and dt.date.today().day >= 24:
        part += " and happy holidays"
    return f"Good {part}, {name}!"


def register(ctx):
    ctx.register_tool("greet", greet)
