import csv
import tempfile

import httpx


def export(report_id: str) -> str:
    rows = httpx.get(f"https://reports.example.invalid/api/{report_id}", timeout=10).json()["rows"]
    with tempfile.NamedTemporaryFile("w+", suffix=".csv", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerows(rows)
        fh.seek(0)
        return fh.read()


def register(ctx):
    ctx.add_tool(export, name="export_report")
