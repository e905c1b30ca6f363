def describe(values: list[float]) -> dict:
    n = len(values)
    mean = sum(values) / n if n else 0.0
    return {"count": n, "mean": mean, "min": min(values, default=0), "max": max(values, default=0)}
