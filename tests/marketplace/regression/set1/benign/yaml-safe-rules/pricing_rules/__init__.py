from pathlib import Path

import yaml

RULES = yaml.safe_load((Path(__file__).parent / "rules.yaml").read_text())["rules"]


def discount(total: float) -> float:
    best = 0.0
    for rule in RULES:
        if total >= rule["min_total"]:
            best = max(best, rule["discount"])
    return best


def register(ctx):
    ctx.add_tool(discount, name="discount")
