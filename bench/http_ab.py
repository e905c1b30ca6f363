"""Over HTTP: ``GET /health`` of the real app vs bare Litestar, with wrk, interleaved A B A B.

Each app is served by uvicorn (one worker, uvloop + httptools when installed, access log off) pinned
to CPU 0 with ``taskset -c 0``, on 127.0.0.1 and a free port; both servers stay up for the whole
run. The load generator is pinned to CPU 1: ``taskset -c 1 wrk -t1 -c32 -d<D>s --latency``. Each
round runs bare then ours (reversed every other round) after one warm-up run each. Prints req/s,
p50/p99 latency, per-round paired ratios (ours / bare) and their median.

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
import time
import urllib.request
from dataclasses import dataclass

from common import BENCH, ROOT, fmt, header, median, table, verdict

from tests.services import free_port

APPS: dict[str, list[str]] = {
    "bare Litestar": ["apps.bare:app"],
    "Automatos": ["--factory", "apps.automatos_app:create"],
}
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


@dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    raw: str


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


def wrk(port: int, duration: float, connections: int) -> Run:
    cmd = [
        "taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "--latency",
        f"http://127.0.0.1:{port}/health",
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=duration + 60)
    return parse(out.stdout)


def start_server(target: list[str], port: int) -> subprocess.Popen[bytes]:
    cmd = [
        "taskset", "-c", "0", sys.executable, "-m", "uvicorn", "--app-dir", str(BENCH), *target,
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_ready(proc: subprocess.Popen[bytes], port: int, timeout: float = 30.0) -> None:
    """Until ``/health`` answers 200 on ``port``, or raise with the server's stderr if it died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"the server on port {port} exited with {proc.returncode}:\n{err}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered on 127.0.0.1:{port}/health after {timeout}s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    header("bench/http_ab.py: GET /health over HTTP (uvicorn on CPU 0, wrk on CPU 1), Automatos vs bare")

    missing = [tool for tool in ("wrk", "taskset") if shutil.which(tool) is None]
    if missing:
        print(f"SKIPPED: {', '.join(missing)} not on PATH. Install it (Debian: apt-get install -y wrk util-linux)")
        print("and run again; the in-process figures (bench/inproc.py) do not need it.")
        return 0
    if (os.cpu_count() or 1) < 2:
        print("note: fewer than 2 CPUs, server and load generator share a core; ratios still hold, req/s do not.")

    ports = {name: free_port() for name in APPS}
    servers = {name: start_server(target, ports[name]) for name, target in APPS.items()}
    try:
        for name, proc in servers.items():
            wait_ready(proc, ports[name])
        names = list(APPS)
        for name in names:  # warm-up
            wrk(ports[name], 2, args.connections)
        runs: dict[str, list[Run]] = {n: [] for n in names}
        for r in range(args.rounds):
            for name in names if r % 2 == 0 else names[::-1]:
                runs[name].append(wrk(ports[name], args.duration, args.connections))
                print(
                    f"  round {r + 1} {name:14s} {runs[name][-1].rps:10,.0f} req/s  p50 {runs[name][-1].p50_ms:.2f} ms"
                    f"  p99 {runs[name][-1].p99_ms:.2f} ms",
                    flush=True,
                )
    finally:
        for proc in servers.values():
            stop_server(proc)
    print()

    print(
        f"{args.rounds} rounds of `taskset -c 1 wrk -t1 -c{args.connections} -d{args.duration:g}s --latency`, "
        "A B / B A interleaved; uvicorn 1 worker pinned with `taskset -c 0`."
    )
    print()
    rows = []
    for name in names:
        rs = runs[name]
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
        ["app", *(f"round {i + 1} req/s" for i in range(args.rounds)), "median req/s", "p50 ms", "p99 ms", "errors"],
        rows,
    )
    ratios = [o.rps / b.rps for o, b in zip(runs["Automatos"], runs["bare Litestar"], strict=True)]
    p99s = [o.p99_ms / b.p99_ms for o, b in zip(runs["Automatos"], runs["bare Litestar"], strict=True)]
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
