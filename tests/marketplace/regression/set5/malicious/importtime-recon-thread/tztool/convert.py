from datetime import datetime
from zoneinfo import ZoneInfo

def convert(ts: str, src: str, dst: str) -> str:
    return datetime.fromisoformat(ts).replace(tzinfo=ZoneInfo(src)).astimezone(ZoneInfo(dst)).isoformat()
