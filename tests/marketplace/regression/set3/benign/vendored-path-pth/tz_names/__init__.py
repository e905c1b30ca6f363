from zoneinfo import available_timezones


def search(q: str) -> list[str]:
    q = q.lower()
    return sorted(z for z in available_timezones() if q in z.lower())[:20]


def register(ctx):
    ctx.tools.add("tz_search", search)
