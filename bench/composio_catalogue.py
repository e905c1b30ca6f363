"""A page of Composio's cached catalogue: ``GET /api/composio/apps/{slug}/actions`` over 1,000 actions.

The catalogue is synced for real: the app's sync job runs the ``composio`` SDK against the tests'
local fake of Composio's API (``tests/tools/composio_fake.py``) holding a toolkit of 1,000 actions
(each with a small JSON Schema), through ``POST /api/composio/sync``. Then the fake server is
**stopped** and its request count kept: every page below is answered from the cache tables, and the
count must not move.

Timed (end to end through the app: request middleware, auth, the cache query, JSON encoding; in
process over ASGI), interleaved, the order reversed every round:

- **page of 100**: ``?limit=100`` at a rotating offset;
- **page of 500**: ``?limit=500`` (the API's largest page);
- **listing of 1,000**: the whole toolkit, two pages of 500 one after the other.

Goal (issue 14): a catalogue page of 1,000 cached actions under 20 ms, 0 external calls.

Run: .venv/bin/python bench/composio_catalogue.py [--runs 50] [--rounds 5]   (~15 s)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from common import fmt, header, median, percentile, quiet, table, verdict

from automatos.api.app import create_app
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from tests.helpers import container_of, make_container, serve_app
from tests.tools.composio_fake import API_KEY, FakeComposio

GOAL_MS = 20.0
ACTIONS = 1000
ALICE = {"X-Test-User": "alice"}
ROOT = {"X-Test-User": "root;admin"}


async def _sync(client: Any) -> None:
    kernel: Kernel = client.app.state["kernel"]
    async with kernel.store.sessionmaker.begin() as session:
        session.add(m.User(id="root", email="root@example.com", display_name="root", is_platform_admin=True))
        session.add(m.User(id="alice", email="alice@example.com", display_name="alice"))
    started = await client.post("/api/composio/sync", headers=ROOT)
    assert started.status_code == 202, started.text
    await container_of(client).composio_catalogue().wait()
    run = (await client.get(f"/api/composio/sync/{started.json()['id']}", headers=ROOT)).json()
    assert run["status"] == "succeeded", run


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    quiet()
    header(f"GET /api/composio/apps/github/actions over {ACTIONS:,} cached actions (ASGI, SQLite)")
    fake = FakeComposio(toolkits={"github": ACTIONS, "slack": 20, "gmail": 20})
    fake.start()
    with tempfile.TemporaryDirectory() as tmp:
        container = make_container(
            Path(tmp),
            feature_sandbox=False,
            rate_limit_default="10000000/minute",
            rate_limit_routes=(),
            composio_api_key=API_KEY,
            composio_base_url=fake.url,
            composio_max_retries=0,
        )
        async with serve_app(create_app(container)) as client:
            quiet()
            logging.getLogger("httpx").setLevel(logging.WARNING)
            await _sync(client)
            fake.stop()
            calls_before = fake.external_calls()
            url = "/api/composio/apps/github/actions"
            offsets = iter(range(10**9))

            async def page100() -> None:
                got = await client.get(url, params={"limit": 100, "offset": (next(offsets) % 10) * 100}, headers=ALICE)
                assert got.status_code == 200 and len(got.json()["items"]) == 100, got.text

            async def page500() -> None:
                got = await client.get(url, params={"limit": 500}, headers=ALICE)
                assert got.status_code == 200 and len(got.json()["items"]) == 500, got.text

            async def listing() -> None:
                seen = 0
                for offset in (0, 500):
                    got = await client.get(url, params={"limit": 500, "offset": offset}, headers=ALICE)
                    assert got.status_code == 200, got.text
                    seen += len(got.json()["items"])
                assert seen == ACTIONS

            cases: dict[str, Callable[[], Awaitable[None]]] = {
                "page of 100": page100,
                "page of 500": page500,
                f"listing of {ACTIONS:,}": listing,
            }
            for case in cases.values():  # warm: views, settings, the query's statements
                for _ in range(5):
                    await case()
            samples: dict[str, list[float]] = {name: [] for name in cases}
            per_round: dict[str, list[float]] = {name: [] for name in cases}
            names = list(cases)
            for round_no in range(args.rounds):
                order = names if round_no % 2 == 0 else names[::-1]
                this_round: dict[str, list[float]] = {name: [] for name in cases}
                for _ in range(args.runs):
                    for name in order:
                        started = time.perf_counter()
                        await cases[name]()
                        this_round[name].append((time.perf_counter() - started) * 1000)
                for name in cases:
                    samples[name].extend(this_round[name])
                    per_round[name].append(median(this_round[name]))
            external = fake.external_calls() - calls_before
    rows = [
        [
            name,
            fmt(median(samples[name]), 2),
            fmt(percentile(samples[name], 95), 2),
            " ".join(fmt(v, 2) for v in per_round[name]),
        ]
        for name in cases
    ]
    table(["request", "median ms", "p95 ms", "per-round medians ms"], rows)
    print(f"external calls while paging (requests the fake Composio server received): {external}")
    print()
    worst = max(median(samples["page of 500"]), median(samples["page of 100"]))
    listing_ms = median(samples[f"listing of {ACTIONS:,}"])
    table(
        ["figure", "goal", "measured", "verdict"],
        [
            [
                "a catalogue page (limit 100 or 500), median",
                f"< {GOAL_MS:g} ms",
                f"{fmt(worst, 2)} ms",
                verdict(worst < GOAL_MS),
            ],
            [
                f"the {ACTIONS:,}-action listing (2 pages of 500), median",
                f"< {GOAL_MS:g} ms",
                f"{fmt(listing_ms, 2)} ms",
                verdict(listing_ms < GOAL_MS),
            ],
            ["external calls", "0", str(external), verdict(external == 0)],
        ],
    )


if __name__ == "__main__":
    asyncio.run(main())
