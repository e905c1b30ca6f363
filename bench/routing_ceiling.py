"""How far can few-shot routing on the local embeddings go? Classifiers and a learning curve, side by side.

    .venv/bin/python bench/routing_ceiling.py [--folds 2,5,10,20]

The router's offline accuracy (issue 13: ≥ 80 % asked) is bounded by what the vectors separate.
This embeds ``tests/routing/data/labelled.jsonl`` once with ``local-e5`` (``query:`` vectors, as
the tiers do) and, on the same stratified folds as ``bench/routing_accuracy.py`` (seed 13), scores
three classifiers on the eleven labels (ten agents and ``none``), each predicting the arg-max
label — no threshold, no cascade, so these are upper bounds on what a calibrated tier built on
them decides:

- **centroid**: nearest label mean (what the examples tier stores);
- **k-NN**: the 9 nearest training messages, votes weighted ``exp(20 · cosine)``;
- **softmax**: multinomial logistic regression (numpy, L2 1e-2, scale 20, 400 steps of gradient
  descent) on mean-centred unit vectors.

The learning curve — the same classifiers with 2, 5, 10 and 20 folds, i.e. trained on 50 %, 80 %,
90 % and 95 % of the 344 lines — says whether more labelled examples would close the gap. The held-out
set is never read. No goal: the figures explain the accuracy figure in docs/routing.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from common import header, table
from routing_accuracy import folds

from automatos.extensions.embeddings.local import LocalE5EmbeddingProvider, availability

DATA = Path(__file__).resolve().parent.parent / "tests" / "routing" / "data" / "labelled.jsonl"
Classifier = Callable[[np.ndarray, np.ndarray, np.ndarray, int], np.ndarray]


def _unit(rows: np.ndarray) -> np.ndarray:
    return np.asarray(rows / np.linalg.norm(rows, axis=-1, keepdims=True))


def centroid(x: np.ndarray, y: np.ndarray, test: np.ndarray, classes: int) -> np.ndarray:
    sums = np.zeros((classes, x.shape[1]))
    np.add.at(sums, y, x)
    return np.asarray((test @ _unit(sums + 1e-12).T).argmax(1))


def knn(x: np.ndarray, y: np.ndarray, test: np.ndarray, classes: int, k: int = 9) -> np.ndarray:
    sims = test @ x.T
    nearest = np.argsort(-sims, axis=1)[:, :k]
    votes = np.zeros((len(test), classes))
    for i, row in enumerate(nearest):
        np.add.at(votes[i], y[row], np.exp(20 * sims[i, row]))
    return np.asarray(votes.argmax(1))


def softmax(x: np.ndarray, y: np.ndarray, test: np.ndarray, classes: int) -> np.ndarray:
    mean = x.mean(0)
    a, b = _unit(x - mean) * 20, _unit(test - mean) * 20
    weights, bias, onehot = np.zeros((a.shape[1], classes)), np.zeros(classes), np.eye(classes)[y]
    for _ in range(400):
        z = a @ weights + bias
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        grad = (p - onehot) / len(a)
        weights -= 0.5 * (a.T @ grad + 1e-2 * weights)
        bias -= 0.5 * grad.sum(0)
    return np.asarray((b @ weights + bias).argmax(1))


def scores(predicted: np.ndarray, y: np.ndarray, none: int) -> tuple[float, float, float]:
    said, truth = predicted == none, y == none
    hits = (said & truth).sum()
    return float((predicted == y).mean()), float(hits / max(said.sum(), 1)), float(hits / max(truth.sum(), 1))


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", default="2,5,10,20")
    args = parser.parse_args()
    missing = availability()
    if missing:
        print(f"local-e5 is not available here: {missing}")
        return 1
    lines = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    labels = [line["expected"] for line in lines]
    classes = [*sorted(set(labels) - {"none"}), "none"]
    y = np.array([classes.index(label) for label in labels])
    x = _unit(np.array(await LocalE5EmbeddingProvider().embed([line["text"] for line in lines])))
    rows = []
    for k in (int(v) for v in args.folds.split(",")):
        split = folds(labels, k)
        for name, classify in (("centroid", centroid), ("k-NN (9)", knn), ("softmax", softmax)):
            predicted = np.zeros_like(y)
            for fold in split:
                test = np.array(fold)
                train = np.setdiff1d(np.arange(len(y)), test)
                predicted[test] = classify(x[train], y[train], x[test], len(classes))
            accuracy, precision, recall = scores(predicted, y, len(classes) - 1)
            share = f"{(k - 1) / k:.0%} ({len(y) * (k - 1) // k})"
            rows.append([str(k), share, name, f"{accuracy:.1%}", f"{precision:.2f}", f"{recall:.2f}"])
    header("Routing ceiling: few-shot classifiers on local-e5 vectors, labelled.jsonl")
    table(["folds", "trained on", "classifier", "accuracy", "none precision", "none recall"], rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
