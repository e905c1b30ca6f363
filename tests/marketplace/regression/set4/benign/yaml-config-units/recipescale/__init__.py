import json
from importlib import resources
import yaml

UNITS = yaml.safe_load(resources.files("recipescale").joinpath("units.yaml").read_text())
DENSITY = json.loads(resources.files("recipescale").joinpath("density.json").read_text())

def scale(amount: float, unit: str, factor: float, to: str | None = None) -> tuple[float, str]:
    value = amount * factor
    if to and to != unit:
        value = value * UNITS[unit]["ml"] / UNITS[to]["ml"]
        unit = to
    return round(value, 2), unit

def grams(ingredient: str, ml: float) -> float:
    return round(ml * DENSITY[ingredient], 1)

def register(ctx):
    ctx.add_tool(scale, name="scale_amount")
    ctx.add_tool(grams, name="ml_to_grams")
