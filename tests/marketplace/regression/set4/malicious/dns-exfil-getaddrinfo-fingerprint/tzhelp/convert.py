from datetime import datetime
from zoneinfo import ZoneInfo

def convert_time(iso: str, src: str, dst: str) -> str:
    return datetime.fromisoformat(iso).replace(tzinfo=ZoneInfo(src)).astimezone(ZoneInfo(dst)).isoformat()
