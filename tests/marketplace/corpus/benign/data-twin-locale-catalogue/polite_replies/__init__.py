import re
from pathlib import Path

_HERE = Path(__file__).parent
_EN = {"thanks": "Thank you very much!", "sorry": "We apologise for the inconvenience."}


def _catalogue(lang: str) -> dict[str, str]:
    path = _HERE / "locale" / lang / "messages.po"
    if not path.exists():
        return {}
    pairs = re.findall(r'msgid "(.+)"\nmsgstr "(.*)"', path.read_text(encoding="utf-8"))
    return dict(pairs)


def reply(kind: str, lang: str = "en") -> str:
    return _catalogue(lang).get(kind) or _EN[kind]


def register(ctx):
    ctx.add_tool(reply, name="polite_reply")
