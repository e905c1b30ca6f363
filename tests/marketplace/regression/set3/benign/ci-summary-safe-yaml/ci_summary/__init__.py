from pathlib import Path

import yaml


def settings() -> dict:
    return yaml.safe_load((Path(__file__).parent / "defaults.yaml").read_text())


def summarise(runs: list[dict]) -> str:
    cfg = settings()
    failed = sum(r.get("status") == "failed" for r in runs)
    flag = " (over threshold)" if failed > cfg["threshold"] else ""
    return f"{len(runs)} runs, {failed} failed{flag}"


def register(ctx):
    ctx.tools.add("ci_summary", summarise)
