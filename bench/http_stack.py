"""Over HTTP: an authenticated, workspace-resolved GET through the full stack vs bare vs FastAPI.

Four servers, each uvicorn (one worker, uvloop + httptools, access log off) pinned to CPU 0, all up
for the whole run, on one data directory prepared first (:func:`apps.fixture.prepare`: migrations,
the ``default`` workspace, an API key with role ``owner`` made by the real service, limit
``1000000000/minute`` so nothing is refused):

- ``bare``       ``apps.bare_resource``: the same handlers on bare Litestar, no middleware, no auth;
- ``sliding``    ``apps.fullstack``: the real app, its one request middleware with the
                 sliding-window-counter limiter (the default), API-key auth, ``ctx`` dependency;
- ``fixed``      the same with the fixed-window limiter (``AUTOMATOS_BENCH_RATE_STRATEGY``);
- ``fastapi``    ``apps.fastapi_ref``: FastAPI + Pydantic + SlowAPI with equivalent middleware and auth.

Two routes (tiers) on each, same JSON body everywhere (checked before measuring), every request
carrying ``Authorization: Bearer atk_…``:

- ``cached``  ``GET /api/bench/workspaces/{id}``: the real handler's code with the workspace row kept
              in memory: what the stack (middleware, auth, workspace resolution) costs;
- ``row``     ``GET /api/workspaces/{id}``: the real route, whose handler reads the row from SQLite on
              every request (bare and FastAPI run the same query on the same file).

wrk on CPU 1: ``taskset -c 1 wrk -t1 -c32 -d<D>s --latency``; one warm-up run per target, then the
targets in one interleaved sequence, reversed every round. ``-d10s`` when the whole run fits in
about 4 minutes, else ``-d5s`` (printed). Goals (issue 3): ours / bare >= 0.60 and
ours / FastAPI >= 2.0 in req/s, paired per round, medians.

``--variant NAME=JSON`` (repeatable) adds a full-stack target with those settings on top (field
names, e.g. ``nosandbox='{"feature_sandbox": false}'``), compared with bare like ``sliding``: a
what-if measured in the same interleaved run. ``--tree NAME=DIR`` adds a full-stack target served
from another checkout (``git worktree add DIR <commit>``): its own ``automatos`` and its own
``bench/apps/fullstack.py`` (run from DIR, so nothing of this checkout is imported), on its own data
directory prepared by its own ``bench/apps/fixture.py`` (its own key, workspace and expected body;
the two trees may differ in schema and key storage): before and after a change in one interleaved
run. ``--apps`` keeps only some of the targets.

Run: .venv/bin/python bench/http_stack.py [--rounds 3] [--duration S] [--tiers cached,row]
     [--apps bare,sliding,fixed,fastapi] [--variant NAME=JSON ...] [--tree NAME=DIR ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
from apps import fixture
from apps.fullstack import ENV_OVERRIDES
from common import ROOT, fmt, header, median, quiet, table, verdict
from http_ab import WARMUP_SECONDS, Run, Server, Target, interleave, method_line, missing_tools, paired, runs_table

from automatos.api.middleware import DEFAULT_STRATEGY
from tests.services import free_port

APPS: dict[str, tuple[str, dict[str, str]]] = {
    "bare": ("apps.bare_resource:create", {}),
    "sliding": ("apps.fullstack:create", {fixture.ENV_STRATEGY: DEFAULT_STRATEGY}),
    "fixed": ("apps.fullstack:create", {fixture.ENV_STRATEGY: "fixed-window"}),
    "fastapi": ("apps.fastapi_ref:create", {}),
}
DESCRIPTIONS = {
    "bare": "bare Litestar, same handler, no middleware/auth",
    "sliding": "Automatos full stack, sliding-window counter",
    "fixed": "Automatos full stack, fixed window",
    "fastapi": "FastAPI + Pydantic + SlowAPI reference",
}
TIERS = {"cached": fixture.CACHED_PATH, "row": fixture.ROW_PATH}
BUDGET_SECONDS = 240.0
STARTUP_SECONDS = 20.0
GOAL_BARE = 0.60
GOAL_FASTAPI = 2.0


def _normal(value: Any) -> Any:
    """JSON with timestamps compared as instants (msgspec writes ``Z``, others may write ``+00:00``)."""
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    return value


def prepare_tree(tree: Path, data_dir: Path) -> tuple[Path, dict[str, str], str, Any]:
    """``data_dir`` prepared by ``tree``'s own fixture code, run from ``tree`` (its ``automatos``):
    the data directory, the request headers, the workspace id and the body every request must get."""
    data_dir.mkdir()
    code = (
        "import asyncio, sys; from pathlib import Path; from apps import fixture; "
        "asyncio.run(fixture.prepare(Path(sys.argv[1])))"
    )
    env = {**os.environ, "PYTHONPATH": f"{tree}:{tree / 'bench'}"}
    subprocess.run([sys.executable, "-c", code, str(data_dir)], cwd=tree, env=env, check=True, capture_output=True)
    saved = json.loads((data_dir / fixture.FIXTURE_FILE).read_bytes())  # plain JSON: the tree's record may differ
    return data_dir, {"Authorization": f"Bearer {saved['key']}"}, saved["workspace_id"], saved["record"]


def check_answers(targets: list[Target], expected: dict[str, Any]) -> list[list[str]]:
    """One request per target: 200 and its expected JSON body (by target name), else raise. Rows for a table."""
    rows = []
    for t in targets:
        request = urllib.request.Request(f"http://127.0.0.1:{t.port}{t.path}", headers=dict(t.headers))
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
            status, count = response.status, len(response.headers)
        if status != 200 or _normal(json.loads(body)) != _normal(expected[t.name]):
            raise RuntimeError(f"{t.name}: unexpected answer {status} {body[:300]!r}")
        rows.append([t.name, str(status), str(count), str(len(body))])
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=None, help="seconds per wrk run (default: 10, or 5)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--tiers", default="cached,row", help="comma-separated: cached, row")
    parser.add_argument("--apps", default=",".join(APPS), help="comma-separated subset of the targets")
    parser.add_argument("--variant", action="append", default=[], help="NAME=JSON settings: one more target")
    parser.add_argument(
        "--tree", action="append", default=[], help="NAME=DIR: one more full-stack target, automatos from DIR"
    )
    args = parser.parse_args()
    trees: dict[str, Path] = {}
    for spec in args.tree:  # before/after in one interleaved run: the other tree served from its own checkout
        name, _, tree = spec.partition("=")
        if not (Path(tree) / "automatos" / "__init__.py").is_file():
            parser.error(f"--tree {spec!r}: {tree}/automatos is not a package")
        if not (Path(tree) / "bench" / "apps" / "fullstack.py").is_file():
            parser.error(f"--tree {spec!r}: {tree}/bench/apps/fullstack.py is missing")
        trees[name] = Path(tree).resolve()
        APPS[name] = ("apps.fullstack:create", {fixture.ENV_STRATEGY: DEFAULT_STRATEGY})
        DESCRIPTIONS[name] = f"full stack (sliding), automatos and bench/apps from {tree}"
    for spec in args.variant:
        name, _, settings = spec.partition("=")
        json.loads(settings)  # fail early on a typo
        APPS[name] = ("apps.fullstack:create", {fixture.ENV_STRATEGY: DEFAULT_STRATEGY, ENV_OVERRIDES: settings})
        DESCRIPTIONS[name] = f"full stack (sliding) with {settings}"
    keep = [a.strip() for a in args.apps.split(",")] + [spec.partition("=")[0] for spec in [*args.variant, *args.tree]]
    for name in [a for a in APPS if a not in keep]:
        del APPS[name]
    if "bare" not in APPS:
        parser.error("--apps must keep bare (every ratio is against it)")
    header("bench/http_stack.py: authenticated workspace GET over HTTP, full stack vs bare vs FastAPI+SlowAPI")
    if missing_tools():
        return 0
    tiers = [t.strip() for t in args.tiers.split(",") if t.strip()]
    unknown = [t for t in tiers if t not in TIERS]
    if unknown:
        parser.error(f"unknown tier(s) {', '.join(unknown)}; known: {', '.join(TIERS)}")

    n_targets = len(tiers) * len(APPS)
    duration = args.duration
    if duration is None:
        estimate = n_targets * (args.rounds * 10 + WARMUP_SECONDS) + STARTUP_SECONDS
        duration = 10.0 if estimate <= BUDGET_SECONDS else 5.0
        if duration == 5.0:
            print(
                f"note: {n_targets} targets x {args.rounds} rounds at -d10s would take ~{estimate / 60:.1f} min: "
                "using -d5s (--duration 10 to force it)."
            )
    total = n_targets * (args.rounds * duration + WARMUP_SECONDS) + STARTUP_SECONDS
    print(f"expected run time ~{total / 60:.1f} min")
    print()

    quiet()
    data_dir = Path(tempfile.mkdtemp(prefix="automatos-bench-http-"))
    servers: dict[str, Server] = {}
    started = time.monotonic()
    try:
        fx = asyncio.run(fixture.prepare(data_dir))
        quiet()  # a kernel start sets the automatos loggers' level again
        # per app: data directory, credentials, workspace and expected body (another tree has its own)
        own = (data_dir, fx.headers(), fx.workspace_id, msgspec.to_builtins(fx.record))
        setups = {name: prepare_tree(trees[name], data_dir / name) if name in trees else own for name in APPS}
        for name, (target, extra) in APPS.items():  # one after another: no two first starts race on the file
            app_dir, auth, workspace_id, _ = setups[name]
            env = {fixture.ENV_DATA_DIR: str(app_dir), **extra}
            servers[name] = server = Server(["--factory", target], free_port(), env, root=trees.get(name, ROOT))
            server.wait_ready(fixture.CACHED_PATH.format(workspace_id), auth)
        targets = [
            Target(f"{app} {tier}", servers[app].port, TIERS[tier].format(setups[app][2]), setups[app][1])
            for tier in tiers
            for app in APPS
        ]
        checked = check_answers(targets, {f"{app} {tier}": setups[app][3] for tier in tiers for app in APPS})
        runs = interleave(targets, args.rounds, duration, args.connections)
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    elapsed = time.monotonic() - started

    print(method_line(args.rounds, duration, args.connections) + f" Took {elapsed / 60:.1f} min.")
    print("Every request: `Authorization: Bearer atk_…` (owner key of the workspace); limit 1000000000/minute.")
    print()
    table(["app", "what"], [[name, DESCRIPTIONS[name]] for name in APPS])
    table(["target (app tier)", "status", "response headers", "body bytes"], checked)

    goals: list[list[str]] = []
    for tier in tiers:
        tier_runs: dict[str, list[Run]] = {f"{app} {tier}": runs[f"{app} {tier}"] for app in APPS}
        print(f"## Tier `{tier}`: GET {TIERS[tier].format('{id}')}")
        print()
        runs_table(tier_runs, "target")
        rows = []
        for ours in [a for a in APPS if a not in ("bare", "fastapi")]:
            for ref, goal in (("bare", GOAL_BARE), ("fastapi", GOAL_FASTAPI)):
                if ref not in APPS:
                    continue
                ratios = paired(runs, f"{ours} {tier}", f"{ref} {tier}")
                p99 = paired(runs, f"{ours} {tier}", f"{ref} {tier}", "p99_ms")
                rows.append([f"req/s {ours} / {ref}", *(fmt(x, 3) for x in ratios), fmt(median(ratios), 3)])
                rows.append([f"p99 {ours} / {ref}", *(fmt(x, 3) for x in p99), fmt(median(p99), 3)])
                got = median(ratios)
                goals.append([f"`{tier}` req/s {ours} / {ref}", f"{got:.3f}", f">= {goal:.2f}", verdict(got >= goal)])
        if "fastapi" in APPS:
            ratios = paired(runs, f"fastapi {tier}", f"bare {tier}")
            rows.append(["req/s fastapi / bare", *(fmt(x, 3) for x in ratios), fmt(median(ratios), 3)])
        table(["paired, per round", *(f"round {i + 1}" for i in range(args.rounds)), "median"], rows)

    print("## Figures vs goals (HTTP, ±25% noise; the `cached` tier is the stack's own cost)")
    table(["figure", "measured", "goal", "verdict"], goals)
    return 0


if __name__ == "__main__":
    sys.exit(main())
