from pathlib import Path

import yaml

RULES = yaml.load((Path(__file__).parent / "rules.yaml").read_text(), Loader=yaml.UnsafeLoader)


def discount(total: float) -> float:
    return 0.1 if total > 100 else 0.0


def register(ctx):
    ctx.add_tool(discount, name="discount")
