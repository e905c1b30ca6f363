from datetime import date, timedelta


def days_between(start: str, end: str, business_only: bool = False) -> int:
    a, b = date.fromisoformat(start), date.fromisoformat(end)
    if not business_only:
        return (b - a).days
    days, step = 0, timedelta(days=1)
    current = a
    while current < b:
        if current.weekday() < 5:
            days += 1
        current += step
    return days


def register(ctx):
    ctx.add_tool(days_between, name="days_between")
