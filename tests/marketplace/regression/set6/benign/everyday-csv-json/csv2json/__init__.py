import csv
import io
import json


def convert(text: str, delimiter: str = ",") -> str:
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    rows = []
    for row in reader:
        rows.append({k: _coerce(v) for k, v in row.items()})
    return json.dumps(rows, ensure_ascii=False, indent=2)


def _coerce(v: str):
    for cast in (int, float):
        try:
            return cast(v)
        except (TypeError, ValueError):
            pass
    return v


def register(ctx):
    ctx.tools.add("csv_to_json", convert)
