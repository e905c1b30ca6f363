import html
import re


def strip_markdown(md: str) -> str:
    md = re.sub(r"```.*?```", "", md, flags=re.S)
    md = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", md)
    md = re.sub(r"[*_`#>]", "", md)
    return html.unescape(md)


def word_count(text: str) -> int:
    return len(re.findall(r"\w+", text))
