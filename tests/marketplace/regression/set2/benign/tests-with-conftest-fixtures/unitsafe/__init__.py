FACTORS = {("km", "mi"): 0.621371, ("kg", "lb"): 2.20462}


def convert(value: float, src: str, dst: str) -> float:
    return value * FACTORS[(src, dst)]


def register(ctx):
    ctx.register_tool("convert_units", convert)
