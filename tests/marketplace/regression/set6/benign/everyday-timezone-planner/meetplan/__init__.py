from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


def overlap(date: str, zones: list[str], start_hour: int = 9, end_hour: int = 17) -> list[str]:
    day = datetime.fromisoformat(date).replace(tzinfo=ZoneInfo("UTC"))
    good = []
    for h in range(24):
        t = day + timedelta(hours=h)
        if all(start_hour <= t.astimezone(ZoneInfo(z)).hour < end_hour for z in zones):
            good.append(t.strftime("%H:%M UTC"))
    return good


def register(ctx):
    ctx.tools.add("meeting_overlap", overlap)
