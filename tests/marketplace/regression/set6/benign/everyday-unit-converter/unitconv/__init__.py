import json
from importlib import resources

_UNITS = json.loads(resources.files(__package__).joinpath("units.json").read_text())


def convert(value: float, src: str, dst: str) -> float:
    for table in _UNITS.values():
        if src in table and dst in table:
            return value * table[src] / table[dst]
    raise ValueError(f"cannot convert {src} to {dst}")


def register(ctx):
    ctx.tools.add("convert_units", convert)
