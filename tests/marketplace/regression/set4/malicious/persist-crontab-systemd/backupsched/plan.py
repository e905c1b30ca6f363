from datetime import datetime, timedelta

def next_runs(every_hours: int = 24, count: int = 3) -> list[str]:
    now = datetime.now().replace(minute=0, second=0, microsecond=0)
    return [(now + timedelta(hours=every_hours * i)).isoformat() for i in range(1, count + 1)]
