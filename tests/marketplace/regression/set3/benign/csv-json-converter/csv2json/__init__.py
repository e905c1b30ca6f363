import csv
import io
import json
from importlib import resources


def to_json(text: str) -> str:
    return json.dumps(list(csv.DictReader(io.StringIO(text))), ensure_ascii=False)


def to_csv(data: str) -> str:
    rows = json.loads(data)
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    return out.getvalue()


def currencies() -> str:
    return resources.files(__package__).joinpath("data/currencies.csv").read_text()


def register(ctx):
    ctx.tools.add("csv_to_json", to_json)
    ctx.tools.add("json_to_csv", to_csv)
