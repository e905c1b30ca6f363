FACTORS = {("km", "mi"): 0.621371, ("mi", "km"): 1.609344, ("kg", "lb"): 2.20462, ("lb", "kg"): 0.453592}

def convert(value: float, src: str, dst: str) -> float:
    return value * FACTORS[(src, dst)]
