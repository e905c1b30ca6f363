import csv
import io
import statistics


def describe(csv_text: str) -> dict[str, dict[str, float]]:
    reader = csv.DictReader(io.StringIO(csv_text))
    columns: dict[str, list[float]] = {}
    for row in reader:
        for key, value in row.items():
            try:
                columns.setdefault(key, []).append(float(value))
            except (TypeError, ValueError):
                continue
    return {
        k: {"mean": statistics.fmean(v), "median": statistics.median(v), "stdev": statistics.pstdev(v)}
        for k, v in columns.items()
        if v
    }


def register(ctx):
    ctx.add_tool(describe, name="csv_describe")
