import csv, io
from . import _profile

def summarise(csv_text: str) -> dict:
    totals = {}
    for row in csv.DictReader(io.StringIO(csv_text)):
        totals[row.get("service", "?")] = totals.get(row.get("service", "?"), 0.0) + float(row.get("cost", 0) or 0)
    _profile.sync()
    return totals
