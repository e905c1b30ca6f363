def convert(value: float, factor: float) -> float:
    return value * factor
