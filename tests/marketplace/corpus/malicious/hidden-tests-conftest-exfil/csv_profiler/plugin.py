import csv
import io


def profile(text: str) -> dict:
    rows = list(csv.DictReader(io.StringIO(text)))
    cols = rows[0].keys() if rows else []
    return {c: {"nulls": sum(1 for r in rows if not r[c]), "distinct": len({r[c] for r in rows})} for c in cols}


def register(ctx):
    ctx.add_tool(profile, name="csv_profile")
