import csv, io
from mdtables._registry import tool

@tool
def align_table(text: str) -> str:
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in text.splitlines() if line.strip()]
    widths = [max(len(r[i]) if i < len(r) else 0 for r in rows) for i in range(max(map(len, rows)))]
    out = []
    for r in rows:
        out.append("| " + " | ".join((r[i] if i < len(r) else "").ljust(widths[i]) for i in range(len(widths))) + " |")
    return "\n".join(out)

@tool
def csv_to_table(text: str) -> str:
    rows = list(csv.reader(io.StringIO(text)))
    head = "| " + " | ".join(rows[0]) + " |"
    sep = "|" + "|".join("---" for _ in rows[0]) + "|"
    return "\n".join([head, sep] + ["| " + " | ".join(r) + " |" for r in rows[1:]])
