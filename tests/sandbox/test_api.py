"""``POST /api/sandbox/run`` end to end: the app built as in production (one sandbox worker), real snippets.

Alice owns workspace alpha (Mia is a member there, Vera a viewer); Bob owns bravo.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from automatos.api.app import create_app
from automatos.kernel.core import Kernel
from tests.helpers import AppClient, as_user, make_container, serve_app, two_workspaces
from tests.sandbox.test_capabilities import local_server

RUN = "/api/sandbox/run"


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


class World:
    def __init__(self, client: AppClient, kernel: Kernel, ids: dict[str, str]) -> None:
        self.client, self.kernel, self.ids = client, kernel, ids

    async def run(self, user: str, workspace: str, body: dict[str, Any]) -> httpx.Response:
        return await self.client.post(RUN, json=body, headers=as_user(user, self.ids[workspace]))


async def build(client: AppClient) -> World:
    kernel: Kernel = client.app.state["kernel"]
    ids = await two_workspaces(client)
    return World(client, kernel, ids)


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    container = make_container(
        tmp_path_factory.mktemp("sandbox-api"),
        sandbox_pool_size=1,
        rate_limit_default="100000/minute",
        rate_limit_routes=(),  # the default limits this route to 30/minute per client
        sandbox_http_allow_private=True,  # the test's HTTP server is on loopback
    )
    async with serve_app(create_app(container)) as client:
        yield await build(client)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with local_server() as url:
        yield url


# --- running ----------------------------------------------------------------------------------------


async def test_a_member_runs_a_snippet(world: World) -> None:
    body = {"code": "print('hi', inputs['x'])\nlog.info('note')\nresult = inputs['x'] * 2", "inputs": {"x": 21}}
    response = await world.run("mia", "alpha", body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["ok"] is True and answer["result"] == 42 and answer["error"] is None
    assert answer["stdout"] == "hi 21\n" and answer["logs"] == [{"level": "info", "message": "note"}]
    assert answer["usage"]["total_ms"] > 0


async def test_who_may_run(world: World) -> None:
    body = problem(await world.run("vera", "alpha", {"code": "result = 1"}), 403)
    assert "sandbox.run" in body["detail"] and body["field"] == "permission"
    problem(await world.client.post(RUN, json={"code": "result = 1"}), 401)
    problem(await world.run("bob", "alpha", {"code": "result = 1"}), 403)  # not a member of alpha


async def test_syntax_error_is_a_422_with_line_and_column(world: World) -> None:
    body = problem(await world.run("mia", "alpha", {"code": "x = 1\nif x\n    pass"}), 422)
    assert body["field"] == "code" and body["kind"] == "syntax"
    assert body["line"] == 2 and isinstance(body["column"], int)
    body = problem(await world.run("mia", "alpha", {"code": "a\u0000b"}), 422)  # compile() refuses NUL
    assert body["field"] == "code"


async def test_policy_refusals(world: World) -> None:
    # found at compile time: nothing ran, the construct is named
    body = problem(await world.run("mia", "alpha", {"code": "x = 1\n_secret = 2"}), 422)
    assert body["field"] == "code" and body["kind"] == "policy" and body["line"] == 2
    assert "_secret" in body["detail"]
    # met while running: a result like any other
    response = await world.run("mia", "alpha", {"code": "print('before')\ngetattr(inputs, '_' + '_class__')"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["ok"] is False and answer["error"]["kind"] == "policy" and answer["stdout"] == "before\n"
    answer = (await world.run("mia", "alpha", {"code": "import os"})).json()
    assert answer["ok"] is False and answer["error"]["kind"] == "policy" and "'os'" in answer["error"]["message"]
    # a run-time error dressed up as a compile-time one is still what it is: it ran, it is a 200
    fake = "print('ran')\ntry:\n    import os\nexcept Exception as e:\n    P = type(e)\nraise P('Line 1: fake')"
    response = await world.run("mia", "alpha", {"code": fake})
    assert response.status_code == 200, response.text
    assert response.json()["stdout"] == "ran\n" and response.json()["error"]["stage"] is None


@pytest.mark.parametrize(
    ("limits", "field"),
    [
        ({"memory_mb": 512}, "limits.memory_mb"),  # platform maximum: sandbox.memory_mb = 256
        ({"cpu_seconds": 31}, "limits.cpu_seconds"),  # sandbox.timeout_seconds = 30
        ({"wall_seconds": 60}, "limits.wall_seconds"),
        ({"output_bytes": 2_000_000}, "limits.output_bytes"),  # sandbox.max_output_bytes = 1 MiB
        ({"memory_mb": 100_000}, "limits.memory_mb"),  # beyond the schema's own bound
        ({"cpu_seconds": 0}, "limits.cpu_seconds"),
    ],
)
async def test_limits_above_the_maximum_are_a_422(world: World, limits: dict[str, Any], field: str) -> None:
    body = problem(await world.run("mia", "alpha", {"code": "result = 1", "limits": limits}), 422)
    assert body["field"] == field, body


async def test_unknown_fields_are_a_422(world: World) -> None:
    bodies: list[dict[str, Any]] = [
        {"code": "result = 1", "limits": {"gpu": 1}},
        {"code": "result = 1", "capabilities": {"shell": True}},
        {"code": "result = 1", "timeout": 1},
        {"code": ""},
        {"code": "x" * 200_001},
        {"inputs": {}},
    ]
    for body in bodies:
        problem(await world.run("mia", "alpha", body), 422)


async def test_limits_within_the_platform_maxima(world: World) -> None:
    limits = {"cpu_seconds": 30, "wall_seconds": 30, "memory_mb": 256, "output_bytes": 1_048_576}
    response = await world.run("mia", "alpha", {"code": "result = 1", "limits": limits})
    assert response.status_code == 200 and response.json()["ok"] is True, response.text


NASTY: list[tuple[str, dict[str, Any], str, str | None]] = [
    # code, limits, error kind (or kinds: "a|b"), limit
    ("while True:\n    pass", {"cpu_seconds": 0.5}, "limit", "cpu_seconds"),
    (
        "while True:\n    try:\n        pass\n    except Exception:\n        pass",
        {"cpu_seconds": 0.5},
        "limit",
        "cpu_seconds",
    ),
    ("x = bytearray(1024 * 1024 * 1024)", {"memory_mb": 64}, "limit", "memory_mb"),
    ("x = []\nwhile True:\n    x.append('a' * 1000000)", {"memory_mb": 64, "cpu_seconds": 5}, "limit", "memory_mb"),
    ("raise SystemExit(3)", {}, "runtime", None),
    ("def f():\n    return f()\nf()", {}, "limit", "recursion_depth"),
    ("while True:\n    print('x' * 1000)", {"output_bytes": 5000}, "limit", "output_bytes"),
    ("result = len", {}, "result", None),
    ("1 / 0", {}, "runtime", None),
    ("raise KeyboardInterrupt", {}, "runtime|policy", None),
    ("open('/etc/passwd')", {}, "runtime|policy", None),
    ("kv.get('x')", {}, "runtime", None),  # not granted: no such name
]


@pytest.mark.parametrize(("code", "limits", "kind", "limit"), NASTY)
async def test_nothing_a_snippet_does_is_a_500(
    world: World, code: str, limits: dict[str, Any], kind: str, limit: str | None
) -> None:
    response = await world.run("mia", "alpha", {"code": code, "limits": limits})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["ok"] is False and answer["result"] is None, answer
    assert answer["error"]["kind"] in kind.split("|") and answer["error"]["limit"] == limit, answer["error"]
    # …and the worker it broke was replaced: the next run works
    again = await world.run("mia", "alpha", {"code": "result = 'fine'"})
    assert again.status_code == 200 and again.json()["result"] == "fine", again.text


# --- capabilities ------------------------------------------------------------------------------------


async def test_kv_is_namespaced_per_workspace(world: World) -> None:
    kv = {"kv": True}
    wrote = await world.run(
        "alice", "alpha", {"code": "kv.set('shared', inputs)", "inputs": {"v": 1}, "capabilities": kv}
    )
    assert wrote.status_code == 200 and wrote.json()["ok"] is True, wrote.text
    read = await world.run("mia", "alpha", {"code": "result = kv.get('shared')", "capabilities": kv})
    assert read.json()["result"] == {"v": 1}  # the workspace's runs share it
    other = await world.run("bob", "bravo", {"code": "result = kv.get('shared', 'absent')", "capabilities": kv})
    assert other.status_code == 200 and other.json()["result"] == "absent", other.text
    stored = await world.kernel.backends.kv.get(f"sandbox:{world.ids['alpha']}:run:shared")
    assert stored == b'{"v":1}'


async def test_http_only_to_hosts_the_workspace_allows(world: World, base_url: str) -> None:
    grant = {"http": {"allow_hosts": ["127.0.0.1"]}}
    code = {"code": "result = http.get(inputs['url'])['text']", "inputs": {"url": f"{base_url}/hello"}}
    body = problem(await world.run("alice", "alpha", {**code, "capabilities": grant}), 403)
    assert body["field"] == "capabilities.http.allow_hosts" and "'127.0.0.1'" in body["detail"]

    # a workspace admin allows the host; members of that workspace (only) may then grant it
    settings = {"sandbox_http_allow_hosts": ["127.0.0.1", "*.example.test"]}
    patched = await world.client.patch(
        f"/api/workspaces/{world.ids['alpha']}", json={"settings": settings}, headers=as_user("alice")
    )
    assert patched.status_code == 200, patched.text
    answer = await world.run("mia", "alpha", {**code, "capabilities": grant})
    assert answer.status_code == 200 and answer.json()["result"] == "hello", answer.text
    problem(await world.run("bob", "bravo", {**code, "capabilities": grant}), 403)

    # hosts the grant does not name stay out of reach, even ones the workspace allows
    grant = {"http": {"allow_hosts": ["api.example.test"]}}
    answer = await world.run("mia", "alpha", {**code, "capabilities": grant})
    result = answer.json()
    assert result["ok"] is False and result["error"]["kind"] == "capability"
    assert "host '127.0.0.1' is not allowed" in result["error"]["message"]

    for hosts, status in ((["example.test"], 403), (["evil.example"], 403), (["not a host"], 422)):
        body = problem(
            await world.run("mia", "alpha", {**code, "capabilities": {"http": {"allow_hosts": hosts}}}), status
        )
        assert body["field"] == "capabilities.http.allow_hosts"

    # the workspace may narrow the methods too
    settings["sandbox_http_allow_methods"] = ["GET"]
    await world.client.patch(
        f"/api/workspaces/{world.ids['alpha']}", json={"settings": settings}, headers=as_user("alice")
    )
    grant = {"http": {"allow_hosts": ["127.0.0.1"], "allow_methods": ["GET", "POST"]}}
    body = problem(await world.run("mia", "alpha", {**code, "capabilities": grant}), 403)
    assert body["field"] == "capabilities.http.allow_methods" and "POST" in body["detail"]


async def test_runs_are_audited_and_logged_without_code_or_inputs(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    code = "result = inputs['token'][:3]  # very-private-code"
    with caplog.at_level(logging.DEBUG):
        response = await world.run("alice", "alpha", {"code": code, "inputs": {"token": "hunter2-secret"}})
    assert response.status_code == 200, response.text
    digest = hashlib.sha256(code.encode()).hexdigest()
    assert digest in caplog.text
    assert "very-private-code" not in caplog.text and "hunter2-secret" not in caplog.text
    audit = await world.client.get(
        f"/api/workspaces/{world.ids['alpha']}/audit", params={"action": "sandbox.run"}, headers=as_user("alice")
    )
    assert audit.status_code == 200, audit.text
    entries = [e for e in audit.json()["items"] if e["target_id"] == digest]
    assert entries and entries[0]["data"]["sha256"] == digest and entries[0]["data"]["ok"] is True
    assert "very-private-code" not in audit.text and "hunter2-secret" not in audit.text


# --- availability and rate limit ---------------------------------------------------------------------


async def test_disabled_sandbox_is_a_503(tmp_path: Path) -> None:
    app = create_app(make_container(tmp_path, feature_sandbox=False))
    async with serve_app(app) as client:
        world = await build(client)
        assert app.state["container"].sandbox().sandbox is None
        body = problem(await world.run("alice", "alpha", {"code": "result = 1"}), 503)
        assert "FEATURE_SANDBOX" in body["detail"]
        problem(await world.run("vera", "alpha", {"code": "result = 1"}), 403)  # permissions first


async def test_the_route_has_its_own_rate_limit(tmp_path: Path) -> None:
    container = make_container(tmp_path, sandbox_pool_size=1, rate_limit_routes=("POST /api/sandbox/run=2/minute",))
    app = create_app(container)
    async with serve_app(app) as client:
        world = await build(client)
        for _ in range(2):
            response = await world.run("alice", "alpha", {"code": "result = 1"})
            assert response.status_code == 200, response.text
        limited = problem(await world.run("alice", "alpha", {"code": "result = 1"}), 429)
        assert "/api/sandbox/run" in limited["detail"] and int(limited["retry_after"]) > 0
        # per client: another caller still runs
        assert (await world.run("mia", "alpha", {"code": "result = 1"})).status_code == 200
    assert container.sandbox().sandbox is None  # stopped with the app
