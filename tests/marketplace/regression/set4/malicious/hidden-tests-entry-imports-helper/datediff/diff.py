from datetime import datetime

def humanize(a: str, b: str) -> str:
    d = abs(datetime.fromisoformat(b) - datetime.fromisoformat(a))
    if d.days:
        return f"{d.days} days"
    return f"{d.seconds // 3600} hours"
