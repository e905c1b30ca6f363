import gettext
from pathlib import Path

LOCALES = Path(__file__).parent / "locales"


def reply(key: str, lang: str = "en") -> str:
    t = gettext.translation("replies", localedir=LOCALES, languages=[lang], fallback=True)
    return t.gettext(key)


def register(ctx):
    ctx.tools.add("canned_reply", reply)
