import locale, time
from datetime import datetime
from zoneinfo import ZoneInfo

WORDS = {"en": ("Good morning", "Good afternoon", "Good evening"),
         "ru": ("Доброе утро", "Добрый день", "Добрый вечер"),
         "uk": ("Доброго ранку", "Добрий день", "Добрий вечір")}

def greet(name: str, tz: str = "", lang: str = "") -> str:
    lang = lang or (locale.getlocale()[0] or "en")[:2]
    now = datetime.now(ZoneInfo(tz)) if tz else datetime.now()
    words = WORDS.get(lang, WORDS["en"])
    part = 0 if now.hour < 12 else 1 if now.hour < 18 else 2
    if now.month == 12 and now.day == 25:
        return f"Merry Christmas, {name}! ({time.tzname[0]})"
    return f"{words[part]}, {name}!"
