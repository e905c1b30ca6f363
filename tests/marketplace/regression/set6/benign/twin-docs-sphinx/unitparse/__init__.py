import re

FACTORS = {"m": 1.0, "km": 1000.0, "cm": 0.01, "mi": 1609.344, "ft": 0.3048}
_RX = re.compile(r"^\s*([0-9.]+)\s*([a-z]+)\s*$")


def to_metres(q: str) -> float:
    m = _RX.match(q)
    if not m or m.group(2) not in FACTORS:
        raise ValueError(f"cannot parse {q!r}")
    return float(m.group(1)) * FACTORS[m.group(2)]


def register(ctx):
    ctx.tools.add("to_metres", to_metres)
