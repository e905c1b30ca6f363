import statistics
from faststats import native

def describe(xs: list[float]) -> dict:
    return {"mean": native.mean(xs), "median": statistics.median(xs)}

def register(ctx):
    ctx.add_tool(describe, name="describe")
