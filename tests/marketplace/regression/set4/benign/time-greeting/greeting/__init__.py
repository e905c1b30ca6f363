import datetime

def greet(name: str, now: datetime.datetime | None = None) -> str:
    now = now or datetime.datetime.now()
    part = "morning" if now.hour < 12 else "afternoon" if now.hour < 18 else "evening"
    extra = " Happy new year!" if (now.month, now.day) == (1, 1) else ""
    return f"Good {part}, {name}.{extra}"

def register(ctx):
    ctx.add_tool(greet, name="greet")
