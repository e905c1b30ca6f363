"""schemathesis against the app's own OpenAPI schema, served by a real ``automatos serve`` process.

Every operation in ``/schema/openapi.json`` (the kernel's routes and whatever the installed
extensions mount) is called with data generated from the schema — schemathesis' explicit examples,
its coverage phase (boundary and invalid values of every parameter and body, missing required
ones, methods the path does not declare) and Hypothesis fuzzing with valid and invalid data — by
three callers:

- anonymous;
- a platform admin's key (``automatos admin create``) sending ``X-Admin-Override: true``;
- the same key with ``{workspace_id}`` pinned to the workspace ``admin create`` made the admin an
  owner of (``default``) and ``{name}`` to an installed extension, so that the handlers behind the
  permission checks get the generated bodies and query parameters too (with generated ids alone
  nearly everything would stop at 404).

Two checks on every response:

- ``not_a_server_error``: nothing is a 5xx;
- :func:`problem_json_for_4xx`: every 4xx is ``application/problem+json`` with ``status`` (equal to
  the response's), ``title`` and ``detail``.

No operation is excluded. The server runs twice: on the embedded default (SQLite, in-process cache)
and in the production shape (PostgreSQL, Redis) — PostgreSQL refuses text SQLite stores (NUL
characters: the fuzzer's first real finding, pinned below in
:func:`test_text_postgresql_cannot_store_is_a_422`). ``RATE_LIMIT_DEFAULT`` is high enough that
fuzzing is never throttled. Hypothesis is derandomized (the same cases every run) with a modest
``max_examples`` per operation.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import BaseSchema, CheckContext
from schemathesis.checks import not_a_server_error
from schemathesis.generation.hypothesis.builder import HypothesisTestConfig, HypothesisTestMode, create_test
from schemathesis.generation.overrides import Override

from tests.services import free_port, fresh_database

AUTOMATOS = str(Path(sys.executable).parent / "automatos")
MAX_EXAMPLES = 25
REQUEST_TIMEOUT = 15.0
ADMIN_EMAIL = "fuzz-admin@example.test"
PINNED_EXTENSION = "hello"  # examples/automatos-hello, installed with the dev environment
ARCHIVE = ("DELETE", "/api/workspaces/{workspace_id}")
"""Archives the pinned workspace, after which every call naming it is a 404: run last, so it is fuzzed too."""


def _env(data_dir: Path) -> dict[str, str]:
    # the embedded default: no DATABASE_URL / REDIS_URL / S3_* / AUTOMATOS_* from the developer's shell
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "S3_", "AUTOMATOS_"))}
    env.update(
        AUTOMATOS_DATA_DIR=str(data_dir),
        RATE_LIMIT_DEFAULT="100000/minute",
        RATE_LIMIT_ROUTES="",
        LOG_LEVEL="INFO",
        PYTHONFAULTHANDLER="1",
        # Composio configured (at a closed loopback port): its routes get past "not configured" (503)
        COMPOSIO_API_KEY="fuzz-composio-key",
        COMPOSIO_BASE_URL=f"http://127.0.0.1:{free_port()}",
        COMPOSIO_MAX_RETRIES="0",
        COMPOSIO_WEBHOOK_SECRET="fuzz-webhook-secret",
    )
    return env


def _wait_ready(base_url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"automatos serve exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{base_url}/health/ready", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    proc.send_signal(signal.SIGABRT)  # PYTHONFAULTHANDLER: every thread's stack goes to the log
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        pass
    raise RuntimeError(f"automatos serve did not become ready within {timeout}s:\n{log.read_text()[-8000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(scope="module")
async def fuzz_database(postgres_url: str) -> AsyncIterator[str]:
    async with fresh_database(postgres_url, prefix="automatos_fuzz_") as url:
        yield url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A running server and a platform admin's key (``base_url``, ``admin_key``, ``workspace_id``, ``log``)."""
    root = tmp_path_factory.mktemp(f"schemathesis-{request.param}")
    env = _env(root / "data")
    if request.param == "postgresql":
        env.update(
            DATABASE_URL=request.getfixturevalue("fuzz_database"), REDIS_URL=request.getfixturevalue("redis_url")
        )
    created = subprocess.run(
        [AUTOMATOS, "admin", "create", "--init", "--email", ADMIN_EMAIL, "--json"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert created.returncode == 0, created.stderr
    admin = json.loads(created.stdout)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = root / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [AUTOMATOS, "serve", "--port", str(port)], cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        _wait_ready(base_url, proc, log_path)
        yield {
            "base_url": base_url,
            "admin_key": admin["key"],
            "workspace_id": admin["workspace_id"],
            "log": str(log_path),
        }
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def api_schema(server: dict[str, str]) -> BaseSchema:
    return schemathesis.openapi.from_url(f"{server['base_url']}/schema/openapi.json", timeout=10)


@schemathesis.check
def problem_json_for_4xx(ctx: CheckContext, response: schemathesis.Response, case: schemathesis.Case) -> bool | None:
    """Every 4xx is RFC 9457 problem+json carrying ``status``, ``title`` and ``detail``."""
    if not 400 <= response.status_code < 500:
        return None
    _assert_problem(response.status_code, (response.headers.get("content-type") or [""])[0], response.text)
    return True


def _assert_problem(status: int, content_type: str, text: str) -> None:
    shown = f"{status} {text[:300]!r}"
    assert content_type.split(";")[0].strip() == "application/problem+json", (
        f"content-type {content_type!r}, not application/problem+json: {shown}"
    )
    try:
        body = json.loads(text)
    except ValueError:
        raise AssertionError(f"the problem+json body is not JSON: {shown}") from None
    assert isinstance(body, dict), f"the problem+json body is not an object: {shown}"
    missing = [name for name in ("status", "title", "detail") if name not in body]
    assert not missing, f"problem+json without {', '.join(missing)}: {shown}"
    assert body["status"] == status, f"problem+json status {body['status']!r} is not the response's: {shown}"
    assert isinstance(body["title"], str) and body["title"], f"empty or non-string title: {shown}"
    assert isinstance(body["detail"], str) and body["detail"], f"empty or non-string detail: {shown}"


CHECKS = [not_a_server_error, problem_json_for_4xx]
FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,  # the same cases every run: a CI failure reproduces
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _fuzz(
    schema: BaseSchema, base_url: str, headers: dict[str, str], pinned: dict[str, str] | None = None
) -> tuple[int, list[str]]:
    """Every operation through every phase; returns (operations run, failures as text).

    The tests are built as schemathesis' own runners build them (``create_test``): explicit
    examples, the coverage phase and fuzzing in every generation mode. (``schemathesis.pytest.
    from_fixture`` would do the same, but schemathesis 4.32 fails on pytest 9: it sets
    ``request.node._nodeid``, which pytest 9 no longer has.) With ``pinned``, only the operations
    having one of those path parameters run, with the parameter fixed to the given value.
    """
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]  # an undescribable one fails here
    if pinned is not None:
        operations = [op for op in operations if any(f"{{{name}}}" in op.path for name in pinned)]
        operations.sort(key=lambda op: (op.method.upper(), op.path) == ARCHIVE)
    failures: list[str] = []
    for operation in operations:

        def call(case: schemathesis.Case) -> None:
            case.call_and_validate(
                base_url=base_url,
                headers=headers,
                checks=list(CHECKS),
                timeout=REQUEST_TIMEOUT,
            )

        path_parameters = {k: v for k, v in (pinned or {}).items() if f"{{{k}}}" in operation.path}
        test = create_test(
            operation=operation,
            test_func=call,
            config=HypothesisTestConfig(
                project=schema.config,
                modes=list(HypothesisTestMode),
                explicit_settings=FUZZ,
                override=Override(path_parameters=path_parameters),
            ),
        )
        try:
            test()
        except (Exception, BaseExceptionGroup) as exc:  # FailureGroup: the failing cases, with curl commands
            failures.append(f"{operation.label}: {type(exc).__name__}: {exc}")
    return len(operations), failures


def _server_errors(log_path: str) -> str:
    """The server's tracebacks (a 5xx is logged with its traceback), for the failure message."""
    lines = Path(log_path).read_text(errors="replace").splitlines()
    return "\n".join(line for line in lines if "Traceback" in line or '"ERROR"' in line)[-8_000:]


NUL = "a\u0000b"
NUL_REQUESTS: list[tuple[str, str, Any]] = [
    ("GET", "/api/workspaces/a%00b", None),
    ("GET", "/api/workspaces/{ws}/audit?action=a%00b", None),
    ("PATCH", "/api/workspaces/{ws}", {"name": NUL}),
    ("PATCH", "/api/workspaces/{ws}", {"settings": {"k": NUL}}),
    ("POST", "/api/workspaces/{ws}/members", {"email": "a\u0000b@example.test"}),
    ("PATCH", "/api/workspaces/{ws}/members/a%00b", {"role": "member"}),
    ("DELETE", "/api/workspaces/{ws}/members/a%00b", None),
    ("PUT", "/api/settings/LLM_MODEL", {"value": NUL}),
    ("PUT", f"/api/workspaces/{{ws}}/extensions/{PINNED_EXTENSION}", {"enabled": True, "config": {NUL: NUL}}),
]


def test_text_postgresql_cannot_store_is_a_422(server: dict[str, str]) -> None:
    """NUL (U+0000) in a path, query or body: PostgreSQL refuses it in text and jsonb (SQLite stores it).

    The fuzzer's first finding: ``PUT /api/workspaces/{id}/extensions/{name}`` with a NUL in the
    config was a 500 on PostgreSQL. Now a 422 problem+json (``automatos.api.problems``); these
    requests pin every route where it showed.
    """
    headers = {"Authorization": f"Bearer {server['admin_key']}", "X-Admin-Override": "true"}
    with httpx.Client(base_url=server["base_url"], headers=headers, timeout=REQUEST_TIMEOUT) as client:
        for method, path, body in NUL_REQUESTS:
            url = path.format(ws=server["workspace_id"])
            response = client.request(method, url, json=body)
            assert response.status_code < 500, f"{method} {url} {body!r}: {response.status_code} {response.text}"
            if response.status_code >= 400:
                _assert_problem(response.status_code, response.headers.get("content-type", ""), response.text)
        # the anonymous path to the same lookup
        response = httpx.get(f"{server['base_url']}/api/workspaces/a%00b", timeout=REQUEST_TIMEOUT)
        assert 400 <= response.status_code < 500, response.text
        _assert_problem(response.status_code, response.headers.get("content-type", ""), response.text)


@pytest.mark.parametrize("caller", ["anonymous", "platform admin", "platform admin in its workspace"])
def test_every_operation_answers_without_5xx_and_every_4xx_is_problem_json(
    caller: str, server: dict[str, str], api_schema: BaseSchema
) -> None:
    headers: dict[str, str] = {}
    pinned: dict[str, Any] | None = None
    if caller != "anonymous":
        headers = {"Authorization": f"Bearer {server['admin_key']}", "X-Admin-Override": "true"}
    if caller == "platform admin in its workspace":
        pinned = {"workspace_id": server["workspace_id"], "name": PINNED_EXTENSION}
    ran, failures = _fuzz(api_schema, server["base_url"], headers, pinned)
    assert ran >= (8 if pinned else 15), f"only {ran} operations: was the schema really walked?"
    assert not failures, (
        f"{len(failures)} failing operation(s):\n\n"
        + "\n\n".join(failures)
        + "\n\nserver log:\n"
        + _server_errors(server["log"])
    )
