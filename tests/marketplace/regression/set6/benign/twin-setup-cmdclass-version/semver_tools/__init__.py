from ._version import __version__


def parse(v: str) -> tuple[int, int, int]:
    major, minor, patch = (int(x) for x in v.split("-")[0].split("."))
    return major, minor, patch


def compare(a: str, b: str) -> int:
    pa, pb = parse(a), parse(b)
    return (pa > pb) - (pa < pb)


def register(ctx):
    ctx.tools.add("semver_compare", compare)
