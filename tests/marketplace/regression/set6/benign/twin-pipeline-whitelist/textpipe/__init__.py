import json
import re
import unicodedata
from pathlib import Path

OPS = {
    "lower": str.lower,
    "strip": str.strip,
    "nfc": lambda s: unicodedata.normalize("NFC", s),
    "collapse_ws": lambda s: re.sub(r"\s+", " ", s),
    "truncate": lambda s, n=200: s[: int(n)],
}


def run(text: str, steps: list[dict]) -> str:
    for step in steps:
        op = OPS.get(step["op"])
        if op is None:
            raise ValueError(f"unknown op {step['op']!r}")
        text = op(text, *step.get("args", []))
    return text


def run_named(text: str, name: str = "default") -> str:
    spec = json.loads((Path(__file__).parent / "pipelines" / f"{name}.json").read_text())
    return run(text, spec["steps"])


def register(ctx):
    ctx.tools.add("clean_text", run_named)
