"""Two real API processes sharing one PostgreSQL database and one Redis.

Two ``automatos serve`` processes (A and B, one worker each) on their own ports and data
directories, with the same ``DATABASE_URL``, ``REDIS_URL`` and ``AUTOMATOS_API_KEY_PEPPER``, and
``RATE_LIMIT_DEFAULT=5/minute``, no ``TRUSTED_PROXIES``. Over HTTP, from this test:

- a rate limit hit on one process counts on the other (3 requests on A + 3 on B with one key: the
  sixth is 429 with ``Retry-After``, problem+json);
- a key revoked on A is refused on B at once (401 with ``WWW-Authenticate``), although B had it in
  its warm cache;
- a spoofed ``X-Forwarded-For`` from the (untrusted) loopback peer does not change the anonymous
  rate-limit key, on either process.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.services import free_port, fresh_database

AUTOMATOS = str(Path(sys.executable).parent / "automatos")
LIMIT = 5
REVOCATION_DEADLINE = 2.0
"""Liveness bound for B to refuse the revoked key (pub/sub is immediate; this only ends a broken run)."""


@pytest.fixture(scope="module")
async def shared_database(postgres_url: str) -> AsyncIterator[str]:
    async with fresh_database(postgres_url, prefix="automatos_two_") as url:
        yield url


def _env(data_dir: Path, database_url: str, redis_url: str, pepper: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "S3_", "AUTOMATOS_"))}
    env.update(
        AUTOMATOS_DATA_DIR=str(data_dir),
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        AUTOMATOS_API_KEY_PEPPER=pepper,
        AUTOMATOS_WORKERS="1",
        RATE_LIMIT_DEFAULT=f"{LIMIT}/minute",
        RATE_LIMIT_ROUTES="",
        TRUSTED_PROXIES="",
        LOG_LEVEL="INFO",
        PYTHONFAULTHANDLER="1",
    )
    env.pop("FORWARDED_ALLOW_IPS", None)  # uvicorn's own proxy trust: the default is what is under test
    return env


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: automatos serve exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.send_signal(signal.SIGABRT)  # PYTHONFAULTHANDLER: every thread's stack goes to the log
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        pass
    raise RuntimeError(f"{url}: not ready within {timeout}s:\n{log.read_text()[-8000:]}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, shared_database: str, redis_url: str) -> Iterator[dict[str, Any]]:
    """``{"a": url, "b": url, "owner": the CLI's owner key (JSON of keys create)}``."""
    root = tmp_path_factory.mktemp("two-processes")
    pepper = secrets.token_urlsafe(32)
    envs = {name: _env(root / name / "data", shared_database, redis_url, pepper) for name in ("a", "b")}
    # run in A's directory with A's settings, before either server starts (migrations, default workspace)
    created = subprocess.run(
        [AUTOMATOS, "keys", "create", "--init", "--workspace=default", "--name=owner", "--role=owner", "--json"],
        cwd=root,
        env=envs["a"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert created.returncode == 0, created.stderr
    urls: dict[str, str] = {}
    with ExitStack() as stack:
        started: list[tuple[str, subprocess.Popen[bytes], Path]] = []
        for name, env in envs.items():
            (root / name).mkdir(exist_ok=True)
            port = free_port()
            log = root / f"{name}.log"
            with log.open("wb") as out:
                proc = subprocess.Popen(
                    [AUTOMATOS, "serve", "--port", str(port)],
                    cwd=root / name,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            stack.callback(_stop, proc)  # always stopped, whatever fails below
            urls[name] = f"http://127.0.0.1:{port}"
            started.append((urls[name], proc, log))
        for url, proc, log in started:
            _wait_ready(url, proc, log)
        yield {**urls, "owner": json.loads(created.stdout)}


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"], body
    return body


def _new_key(cluster: dict[str, Any], name: str, **fields: Any) -> dict[str, Any]:
    """A key made through A's API with the CLI's owner key (one hit on the owner's limit)."""
    response = httpx.post(
        f"{cluster['a']}/api/api-keys", json={"name": name, **fields}, headers=_bearer(cluster["owner"]["key"])
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_a_key_revoked_on_one_process_is_refused_on_the_other_at_once(cluster: dict[str, Any]) -> None:
    victim = _new_key(cluster, "victim", rate_limit="1000/minute")  # polling must not meet the limit
    headers = _bearer(victim["key"])
    # both processes accept it, so B has it in its warm cache (API_KEY_CACHE_SECONDS is a minute)
    for node in ("a", "b"):
        assert httpx.get(f"{cluster[node]}/api/workspaces", headers=headers).status_code == 200
    revoked = httpx.delete(f"{cluster['a']}/api/api-keys/{victim['id']}", headers=_bearer(cluster["owner"]["key"]))
    assert revoked.status_code == 204, revoked.text

    deadline = time.monotonic() + REVOCATION_DEADLINE
    while True:
        response = httpx.get(f"{cluster['b']}/api/workspaces", headers=headers)
        if response.status_code != 200 or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    _assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer"), response.headers
    # and as X-API-Key, and on A
    _assert_problem(httpx.get(f"{cluster['b']}/api/workspaces", headers={"X-API-Key": victim["key"]}), 401)
    _assert_problem(httpx.get(f"{cluster['a']}/api/workspaces", headers=headers), 401)


def test_a_rate_limit_hit_on_one_process_counts_on_the_other(cluster: dict[str, Any]) -> None:
    key = _new_key(cluster, "limited")  # a new principal: its counter starts at zero
    headers = _bearer(key["key"])
    statuses = []
    for node in ("a", "a", "a", "b", "b", "b"):
        response = httpx.get(f"{cluster[node]}/api/workspaces", headers=headers)
        statuses.append(response.status_code)
    assert statuses == [200] * LIMIT + [429], statuses
    body = _assert_problem(response, 429)  # the sixth, answered by B
    assert int(response.headers["retry-after"]) >= 1, response.headers
    assert body["retry_after"] == int(response.headers["retry-after"])
    # A refuses it too: the count is one
    _assert_problem(httpx.get(f"{cluster['a']}/api/workspaces", headers=headers), 429)


def test_a_spoofed_forwarded_for_from_an_untrusted_peer_does_not_change_the_rate_limit_key(
    cluster: dict[str, Any],
) -> None:
    # Anonymous calls from this test's loopback address, each naming another client in
    # X-Forwarded-For, alternately on A and B: the key stays the peer's, so the limit holds.
    statuses = []
    last = None
    for i in range(LIMIT + 3):
        node = "ab"[i % 2]
        last = httpx.get(f"{cluster[node]}/api/extensions", headers={"X-Forwarded-For": f"198.51.100.{i + 1}"})
        statuses.append(last.status_code)
    assert set(statuses) <= {200, 429}, statuses
    passed = statuses.count(200)
    # at most LIMIT pass (fewer only if this peer already spent some of its minute), then only 429s
    assert passed <= LIMIT and statuses == [200] * passed + [429] * (len(statuses) - passed), statuses
    assert last is not None
    _assert_problem(last, 429)
    assert int(last.headers["retry-after"]) >= 1
