def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def register(ctx):
    ctx.add_tool(mean, name="mean")
