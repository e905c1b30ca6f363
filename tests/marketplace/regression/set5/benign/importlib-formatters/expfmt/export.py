import importlib

FORMATS = {"csv": "csv_fmt", "tsv": "tsv_fmt", "md": "md_fmt"}

def export(rows: list, fmt: str = "csv") -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {sorted(FORMATS)}")
    mod = importlib.import_module(f"expfmt.formats.{FORMATS[fmt]}")
    return mod.render(rows)
