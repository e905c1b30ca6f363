"""Over HTTP: ``GET /health`` of the real app vs bare Litestar, with wrk, interleaved A B A B.

Each app is served by uvicorn (one worker, uvloop + httptools when installed, access log off) pinned
to CPU 0 with ``taskset -c 0``, on 127.0.0.1 and a free port; both servers stay up for the whole
run. The load generator is pinned to CPU 1: ``taskset -c 1 wrk -t1 -c32 -d<D>s --latency``. Each
round runs bare then ours (reversed every other round) after one warm-up run each. Prints req/s,
p50/p99 latency, per-round paired ratios (ours / bare) and their median.

The runner (servers, wrk, interleaving, tables) is shared: ``bench/http_stack.py`` imports it.

Needs ``wrk`` on PATH (Debian package ``wrk``); without it the script says so and exits 0.

Run: .venv/bin/python bench/http_ab.py [--rounds 3] [--duration 5]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from common import ROOT, fmt, header, median, table, verdict

from tests.services import free_port

APPS: dict[str, list[str]] = {
    "bare Litestar": ["apps.bare:app"],
    "Automatos": ["--factory", "apps.automatos_app:create"],
}
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}
WARMUP_SECONDS = 2.0


@dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    raw: str


@dataclass
class Target:
    """One thing wrk hits: a server's port, a path and the request headers."""

    name: str
    port: int
    path: str = "/health"
    headers: Mapping[str, str] = field(default_factory=dict)


def parse(output: str) -> Run:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if rps is None:
        raise RuntimeError(f"cannot read wrk output:\n{output}")

    def latency(pct: str) -> float:
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        return float(m.group(1)) * UNITS[m.group(2)] if m else float("nan")

    errors = 0
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if non2xx:
        errors += int(non2xx.group(1))
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if sock:
        errors += sum(int(x) for x in sock.groups())
    return Run(float(rps.group(1)), latency("50"), latency("99"), errors, output)


def wrk(
    port: int, duration: float, connections: int, path: str = "/health", headers: Mapping[str, str] | None = None
) -> Run:
    cmd = ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "--latency"]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=duration + 60)
    return parse(out.stdout)


def missing_tools() -> bool:
    """Say so and return True when wrk or taskset is not installed (the caller then exits 0)."""
    missing = [tool for tool in ("wrk", "taskset") if shutil.which(tool) is None]
    if missing:
        print(f"SKIPPED: {', '.join(missing)} not on PATH. Install it (Debian: apt-get install -y wrk util-linux)")
        print("and run again; the in-process figures (bench/inproc.py) do not need it.")
        return True
    if (os.cpu_count() or 1) < 2:
        print("note: fewer than 2 CPUs, server and load generator share a core; ratios still hold, req/s do not.")
    return False


class Server:
    """``taskset -c 0 python -m uvicorn …`` on 127.0.0.1:``port``; stderr kept in a file (a pipe nobody
    reads could fill up and stall the server)."""

    def __init__(self, target: list[str], port: int, env: Mapping[str, str] | None = None, root: Path = ROOT) -> None:
        """``root``: the checkout served (its ``automatos`` and its ``bench/apps``), this one by default.
        It is also the working directory: ``python -m`` puts that first on ``sys.path``."""
        self.port = port
        self._log = tempfile.TemporaryFile()
        cmd = [
            "taskset", "-c", "0", sys.executable, "-m", "uvicorn", "--app-dir", str(root / "bench"), *target,
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        full_env = {**os.environ, "PYTHONPATH": str(root), **(env or {})}
        self.proc = subprocess.Popen(cmd, cwd=root, env=full_env, stdout=subprocess.DEVNULL, stderr=self._log)

    def stderr(self, tail: int = 4000) -> str:
        """The last ``tail`` characters the server wrote to stderr."""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-tail:]

    def wait_ready(
        self, path: str = "/health", headers: Mapping[str, str] | None = None, timeout: float = 30.0
    ) -> None:
        """Until ``path`` answers 200, or raise with the server's stderr if it died or never did."""
        deadline = time.monotonic() + timeout
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", headers=dict(headers or {}))
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                raise RuntimeError(f"the server on port {self.port} exited with {code}:\n{self.stderr()}")
            try:
                with urllib.request.urlopen(request, timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"nothing answered 200 on 127.0.0.1:{self.port}{path} after {timeout}s:\n{self.stderr()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def interleave(targets: Sequence[Target], rounds: int, duration: float, connections: int) -> dict[str, list[Run]]:
    """One warm-up run per target, then ``rounds`` rounds, the order reversed every other round."""
    for t in targets:
        wrk(t.port, WARMUP_SECONDS, connections, t.path, t.headers)
    runs: dict[str, list[Run]] = {t.name: [] for t in targets}
    width = max(len(t.name) for t in targets)
    for r in range(rounds):
        for t in targets if r % 2 == 0 else targets[::-1]:
            run = wrk(t.port, duration, connections, t.path, t.headers)
            runs[t.name].append(run)
            print(
                f"  round {r + 1} {t.name:{width}s} {run.rps:10,.0f} req/s  p50 {run.p50_ms:.2f} ms"
                f"  p99 {run.p99_ms:.2f} ms" + (f"  ERRORS {run.errors}" if run.errors else ""),
                flush=True,
            )
    print()
    return runs


def method_line(rounds: int, duration: float, connections: int) -> str:
    return (
        f"{rounds} rounds of `taskset -c 1 wrk -t1 -c{connections} -d{duration:g}s --latency`, "
        "interleaved, order reversed every round; uvicorn 1 worker pinned with `taskset -c 0`."
    )


def runs_table(runs: Mapping[str, list[Run]], label: str = "app") -> None:
    rounds = len(next(iter(runs.values())))
    rows = []
    for name, rs in runs.items():
        rows.append(
            [
                name,
                *(f"{x.rps:,.0f}" for x in rs),
                f"{median([x.rps for x in rs]):,.0f}",
                fmt(median([x.p50_ms for x in rs])),
                fmt(median([x.p99_ms for x in rs])),
                str(sum(x.errors for x in rs)),
            ]
        )
    table(
        [label, *(f"round {i + 1} req/s" for i in range(rounds)), "median req/s", "p50 ms", "p99 ms", "errors"],
        rows,
    )


def paired(runs: Mapping[str, list[Run]], numerator: str, denominator: str, attr: str = "rps") -> list[float]:
    """Per-round ratios ``numerator / denominator`` of ``attr`` (same round, so same machine state)."""
    return [getattr(a, attr) / getattr(b, attr) for a, b in zip(runs[numerator], runs[denominator], strict=True)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    header("bench/http_ab.py: GET /health over HTTP (uvicorn on CPU 0, wrk on CPU 1), Automatos vs bare")
    if missing_tools():
        return 0

    servers = {name: Server(target, free_port()) for name, target in APPS.items()}
    try:
        for server in servers.values():
            server.wait_ready()
        runs = interleave(
            [Target(name, s.port) for name, s in servers.items()], args.rounds, args.duration, args.connections
        )
    finally:
        for server in servers.values():
            server.stop()

    print(method_line(args.rounds, args.duration, args.connections))
    print()
    runs_table(runs)
    ratios = paired(runs, "Automatos", "bare Litestar")
    p99s = paired(runs, "Automatos", "bare Litestar", "p99_ms")
    table(
        ["paired, per round", *(f"round {i + 1}" for i in range(args.rounds)), "median"],
        [
            ["req/s ratio ours/bare", *(fmt(x, 3) for x in ratios), fmt(median(ratios), 3)],
            ["p99 ratio ours/bare", *(fmt(x, 3) for x in p99s), fmt(median(p99s), 3)],
        ],
    )
    ratio = median(ratios)
    print("## Figure vs goal")
    table(
        ["figure", "measured", "goal", "verdict"],
        [
            [
                "/health req/s ratio Automatos / bare (HTTP, ±25% noise)",
                f"{ratio:.3f}",
                ">= 0.85",
                verdict(ratio >= 0.85),
            ]
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
