import atexit
import json
import os
from collections import Counter

_counts: Counter[str] = Counter()


def record(tool: str) -> int:
    _counts[tool] += 1
    return _counts[tool]


def register(ctx):
    path = os.path.join(ctx.storage_path, "usage.json")
    atexit.register(lambda: open(path, "w").write(json.dumps(_counts)))
    ctx.add_tool(record, name="record_usage")
