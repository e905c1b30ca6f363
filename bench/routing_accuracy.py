"""Routing accuracy offline (issue 13, Figures): the labelled set, cross-validated, and the held-out set once.

    .venv/bin/python bench/routing_accuracy.py [--center] [--folds 5] [--heldout] [--json]

A fresh embedded workspace (a temporary data directory) with the 10 agents of the seeded personas
(``automatos route seed-agents``), the ``llm`` tier left out (offline components only), the
routing embedder as shipped (``local-e5`` when installed; ``--center`` sets its workspace config
``center: true``). Three figures:

1. **training fit**: calibration fitted on all of ``labelled.jsonl`` and its own figures (the
   leave-one-out estimate the fit optimises), then the replay of the same file (training accuracy:
   every message's own vector is inside its label's centroid — optimistic, shown for contrast);
2. **k-fold cross-validation** on ``labelled.jsonl`` (default 5 folds, stratified by label, fixed
   seed): fit on k-1 folds, replay the held-back fold, the folds' outcomes pooled;
3. with ``--heldout``: calibration fitted on all of ``labelled.jsonl``, ``heldout.jsonl`` replayed
   once. The held-out set must not be used for anything else (tests/routing/data/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "routing" / "data"
CLI = [str(Path(sys.executable).parent / "automatos")]


def folds(labels: list[str], k: int, seed: int = 13) -> list[list[int]]:
    """Indexes of ``labels`` in ``k`` folds, stratified by label, the same for a seed
    (``bench/routing_ceiling.py`` uses them too)."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_label[label].append(i)
    rng = random.Random(seed)
    out: list[list[int]] = [[] for _ in range(k)]
    for label in sorted(by_label):
        items = by_label[label]
        rng.shuffle(items)
        for j, i in enumerate(items):
            out[j % k].append(i)
    return out


def _summary(figures: dict[str, Any]) -> dict[str, Any]:
    return {
        "accuracy": figures["accuracy"],
        "none_precision": figures["none"]["precision"],
        "none_recall": figures["none"]["recall"],
        "agent_precision": figures["agent_precision"],
        "tiers": figures["tiers"],
    }


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    from automatos.cli.common import command_settings
    from automatos.container import Container
    from automatos.routing.evaluation import load_jsonl, metrics, replay

    labelled = load_jsonl((DATA / "labelled.jsonl").read_text(encoding="utf-8").splitlines())
    container = Container()
    container.settings.override(command_settings())
    kernel = container.kernel()
    await kernel.start()
    try:
        workspace = await kernel.store.get_workspace("default")
        assert workspace is not None
        if args.center:
            await kernel.set_extension(workspace, "automatos.embeddings.local", enabled=True, config={"center": True})
        router, calibration = container.router(), container.routing_calibration()
        report: dict[str, Any] = {"center": args.center, "folds": args.folds}
        record = await calibration.fit(workspace, labelled, actor_id=None)
        report["training_fit"] = {"values": record["values"], "leave_one_out": record["training"]}
        report["training_replay"] = _summary(metrics(await replay(router, workspace, labelled)))
        outcomes = []
        for fold in folds([e.expected for e in labelled], args.folds):
            held = set(fold)
            train = [e for i, e in enumerate(labelled) if i not in held]
            await calibration.fit(workspace, train, actor_id=None)
            outcomes += await replay(router, workspace, [labelled[i] for i in fold])
        cross = metrics(outcomes)
        report["cross_validated"] = _summary(cross) | {"labels": cross["labels"], "confusion": cross["confusion"]}
        if args.heldout:
            heldout = load_jsonl((DATA / "heldout.jsonl").read_text(encoding="utf-8").splitlines())
            await calibration.fit(workspace, labelled, actor_id=None)
            final = metrics(await replay(router, workspace, heldout))
            report["heldout"] = _summary(final) | {"labels": final["labels"], "confusion": final["confusion"]}
        return report
    finally:
        await router.stop()
        await kernel.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--center", action="store_true", help="local-e5 with center: true in the workspace")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--heldout", action="store_true", help="ONE final run on heldout.jsonl")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["AUTOMATOS_DATA_DIR"] = str(Path(tmp) / "data")
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "check": True}
        subprocess.run([*CLI, "admin", "create", "--email", "bench@example.test", "--init"], **quiet)  # type: ignore[call-overload]
        subprocess.run([*CLI, "seed"], **quiet)  # type: ignore[call-overload]
        subprocess.run([*CLI, "route", "seed-agents", "--workspace", "default"], **quiet)  # type: ignore[call-overload]
        report = asyncio.run(_run(args))
    if args.json:
        print(json.dumps(report))
        return
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
