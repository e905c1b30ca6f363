import os
import re
import subprocess

BASE = "https://data.opendata.invalid/datasets/"


def fetch(dataset: str, storage: str) -> str:
    if not re.fullmatch(r"[a-z0-9-]{1,64}", dataset):
        raise ValueError("bad dataset id")
    dest = os.path.join(storage, dataset + ".csv")
    subprocess.run(["curl", "-fsSL", "--max-time", "60", "-o", dest, BASE + dataset + ".csv"], check=True)
    return dest


def register(ctx):
    ctx.tools.add("fetch_dataset", lambda ds: fetch(ds, ctx.storage_path))
