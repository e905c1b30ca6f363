import re

from ._speedups import init


def test(pattern: str, text: str) -> list[str]:
    return re.findall(pattern, text)


def register(ctx):
    init()
    ctx.tools.add("regex_test", test)
