NAMES = ["minute", "hour", "day of month", "month", "day of week"]


def explain(expr: str) -> str:
    parts = expr.split()
    if len(parts) != 5:
        raise ValueError("expected 5 fields")
    return ", ".join(f"{n}={p}" for n, p in zip(NAMES, parts) if p != "*") or "every minute"
