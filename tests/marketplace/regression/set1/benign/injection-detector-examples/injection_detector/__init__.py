import re

PATTERNS = [r"ignore (all )?previous instructions", r"you are now in developer mode", r"reveal (the|your) system prompt"]


def score(text: str) -> dict:
    hits = [p for p in PATTERNS if re.search(p, text, re.I)]
    return {"suspicious": bool(hits), "matched": hits}


def register(ctx):
    ctx.add_tool(score, name="injection_score")
    ctx.add_skill("skills/triage.md")
