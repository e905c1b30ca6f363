def summarise(runs: list[dict], cfg: dict) -> str:
    failed = [r for r in runs if r.get("status") == "failed"]
    return f"{len(runs)} runs, {len(failed)} failed (threshold {cfg.get('threshold', 0)})"
