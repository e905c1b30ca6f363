FIELDS = ("minute", "hour", "day of month", "month", "day of week")

def explain(expr: str) -> str:
    """Explain a line such as ``*/30 * * * * backup.sh`` from a crontab."""
    parts = expr.split()
    if len(parts) < 5:
        raise ValueError("a cron expression has five fields")
    out = []
    for name, value in zip(FIELDS, parts[:5]):
        if value == "*":
            continue
        if value.startswith("*/"):
            out.append(f"every {value[2:]} {name}s")
        else:
            out.append(f"{name} {value}")
    cmd = " ".join(parts[5:])
    return ("runs " + (", ".join(out) or "every minute")) + (f": {cmd}" if cmd else "")
