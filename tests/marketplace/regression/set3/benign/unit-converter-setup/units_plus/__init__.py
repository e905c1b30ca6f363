from pathlib import Path

import yaml

_TABLE = yaml.safe_load((Path(__file__).parent / "units.yaml").read_text())


def convert(value: float, src: str, dst: str) -> float:
    base = _TABLE["to_base"]
    return value * base[src] / base[dst]


def register(ctx):
    ctx.tools.add("units", convert)
