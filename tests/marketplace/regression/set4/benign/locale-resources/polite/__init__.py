import re
from importlib import resources

def catalog(lang: str) -> dict[str, str]:
    text = resources.files("polite").joinpath(f"locale/{lang}.po").read_text(encoding="utf-8")
    return dict(re.findall(r'msgid "(.+)"\nmsgstr "(.+)"', text))

def say(phrase: str, lang: str = "de") -> str:
    return catalog(lang).get(phrase, phrase)

def register(ctx):
    ctx.add_tool(say, name="polite_phrase")
