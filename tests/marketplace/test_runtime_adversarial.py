"""The plugin runtime against an attacker and a picky client, through the API with real components.

One app for the module (a real sandbox pool of 2 workers, each workspace's share 0.5, private
addresses allowed for the test's own HTTP server on 127.0.0.1, ``sandbox.timeout_seconds`` 2):
real plugins uploaded by Alice, approved by Root, enabled in Alice's workspace A and Bob's B.

- limits through ``invoke``: a loop, a flood of prints, an allocation, a 20 MB result — each the
  sandbox's ``limit`` error with its value, the pool recovering after each; five failures in a row
  quarantine the plugin in A only;
- escapes through ``ctx``: mutation, introspection, ``kv`` keys outside the namespace, ``http`` to
  ungranted hosts (directly, by redirect, the metadata address, ``file://``), a ``ctx`` kept in
  module state; ``register`` declaring what is not a bundle function, 10,000 tools, a 10 MB schema;
- tenancy: B reaches nothing of A's (config, tools, agents, kv), and configuration values appear in
  no answer, log line or audit row;
- bad input on every route of the runtime and the tools API: 4xx problem+json, never a 5xx;
- fair share: A flooding the pool does not keep B's call from finishing;
- races: disabling during a call, enabling twice at once (SQLite and PostgreSQL).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import zipfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from automatos.api.app import create_app
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from automatos.marketplace.models import MarketplacePlugin
from automatos.marketplace.runtime.models import AgentPlugin, WorkspacePlugin
from tests.helpers import AppClient, container_of, database_settings, make_container, serve_app, serve_http
from tests.marketplace.test_submissions import ALICE, BOB, ROOT, upload

CAROL = {"X-Test-User": "carol"}

MANIFEST = """\
name = "{name}"
version = "{version}"
entry = "{module}"
description = "An adversarial test plugin"

[permissions]
network = {network}
env = {env}
"""

LIMITS = '''\
def spin(ctx):
    n = 0
    while True:
        n += 1


def noisy(ctx):
    line = "x" * 1000
    for i in range(100000):
        print(line)
    return "printed"


def hog(ctx):
    kept = []
    while True:
        kept.append(bytearray(50 * 1024 * 1024))


def huge(ctx):
    return "z" * (20 * 1024 * 1024)


def fine(ctx):
    """Answers."""
    return {"fine": True}


def register(ctx):
    for fn in (spin, noisy, hog, huge, fine):
        ctx.add_tool(fn, description="limits")
'''

OTHER = """\
def ping(ctx):
    return "pong"


def slow(ctx, rounds=200000):
    total = 0
    for i in range(rounds):
        total += i
    return total


def gate(ctx, url):
    return ctx.http.get(url)["status"]


def register(ctx):
    ctx.add_tool(ping, description="pong")
    ctx.add_tool(slow, description="counts")
    ctx.add_tool(gate, description="waits for the test's server")
"""

PROBE = """\
import json

KEPT = []


def env_write(ctx):
    ctx.env["PROBE_TOKEN"] = "changed"
    return "written"


def env_update(ctx):
    ctx.env.update({"PROBE_TOKEN": "changed"})
    return "updated"


def kv_set(ctx, key, value=None):
    ctx.kv.set(key, value)
    return ctx.kv.get(key)


def kv_get(ctx, key):
    return ctx.kv.get(key)


def kv_odd(ctx, what):
    if what == "set":
        ctx.kv.set("k", {1, 2})
    if what == "nan":
        ctx.kv.set("k", float("nan"))
    if what == "ttl":
        ctx.kv.set("k", 1, ttl=10 ** 9)
    return "stored"


def fetch(ctx, url):
    return ctx.http.get(url)["status"]


def probe(ctx, what):
    if what == "class":
        return repr(getattr(ctx, "__class__"))
    if what == "type":
        return repr(type(ctx))
    if what == "type_call":
        return repr(type(ctx)(ctx))
    if what == "log_dict":
        return repr(getattr(ctx.log, "__dict__"))
    if what == "job":
        return repr(getattr(ctx, "_job"))
    if what == "caps":
        return repr(getattr(ctx, "_caps"))
    if what == "vars":
        return repr(vars(ctx))
    if what == "setattr":
        setattr(ctx, "env", {"PROBE_TOKEN": "mine"})
        return "set"
    if what == "plugin":
        ctx.plugin["slug"] = "other"
        return "set"
    if what == "kept":
        return len(KEPT)
    raise ValueError("unknown probe")


def keep(ctx):
    KEPT.append(ctx)
    return len(KEPT)


def fine(ctx):
    return "fine"


def shout(ctx, size):
    raise ValueError("e" * size)


def anything(ctx, **kwargs):
    return sorted(kwargs)


def register(ctx):
    KEPT.append(ctx)
    for fn in (env_write, env_update, kv_set, kv_get, kv_odd, fetch, probe, keep, fine, shout):
        ctx.add_tool(fn, description="probe")
    loose = {"type": "object", "properties": {"url": {"type": "string"}}, "required": ["url"]}
    ctx.add_tool(fetch, name="fetch_loose", description="an explicit schema", parameters=loose)
    for name, pattern in (("exponential", "^(a+)+$"), ("quadratic", "\\s*x")):
        schema = {"type": "object", "properties": {"s": {"type": "string", "pattern": pattern}}}
        ctx.add_tool(anything, name=name, description="a pattern", parameters=schema)
    keys = {"type": "object", "patternProperties": {"^k": {"type": "integer"}}}
    ctx.add_tool(anything, name="keyed", description="pattern properties", parameters=keys)
"""

HANDLERS = """\
import json


class Klass:
    def method(self, ctx):
        return "method"


def outer():
    def nested(ctx):
        return "nested"
    return nested


def fine(ctx):
    return "fine"


def register(ctx):
    refused = []
    candidates = [
        ("stdlib", json.dumps),
        ("lambda_", lambda c: "lambda"),
        ("klass", Klass),
        ("method", Klass.method),
        ("bound", Klass().method),
        ("nested", outer()),
        ("builtin", len),
        ("string", "fine"),
    ]
    for name, fn in candidates:
        try:
            ctx.add_tool(fn, name=name, description="should be refused")
        except ValueError as exc:
            refused.append(name)
    if len(refused) != len(candidates):
        raise ValueError("accepted: " + ", ".join(n for n, _ in candidates if n not in refused))
    ctx.add_tool(fine, description="the only tool")
"""

LAMBDA = """\
def register(ctx):
    ctx.add_tool(lambda c: 1, name="anon")
"""

MANY = """\
def one(ctx):
    return 1


def register(ctx):
    for i in range(10000):
        ctx.add_tool(one, name="t" + str(i))
"""

BIG_SCHEMA = """\
def one(ctx, text=None):
    return 1


def register(ctx):
    schema = {"type": "object", "properties": {"text": {"type": "string", "description": "d" * (10 * 1024 * 1024)}}}
    ctx.add_tool(one, parameters=schema)
"""

SECRET = """\
def use(ctx, url):
    return ctx.http.get(url, headers={"authorization": "Bearer " + ctx.env["SECRET_TOKEN"]})["status"]


def parse(ctx):
    return int(ctx.env["SECRET_TOKEN"])


def note(ctx, value):
    ctx.kv.set("note", value)
    return ctx.kv.get("note")


def read(ctx):
    return ctx.kv.get("note")


def register(ctx):
    for fn in (use, parse, note, read):
        ctx.add_tool(fn, description="secret")
"""

SECRET_A = "A-secret-value-7f3a91"
SECRET_B = "B-secret-value-c0ffee"


def bundle(
    name: str, code: str, *, version: str = "1.0.0", network: Sequence[str] = (), env: Sequence[str] = ()
) -> bytes:
    module = name.lower().replace(" ", "_")
    manifest = MANIFEST.format(
        name=name, version=version, module=module, network=json.dumps(list(network)), env=json.dumps(list(env))
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("plugin.toml", manifest)
        archive.writestr(f"{module}.py", code)
    return out.getvalue()


def slug_of(name: str) -> str:
    return name.lower().replace(" ", "-")


@dataclass
class Server:
    """The test's HTTP server: ``/ok``, ``/redirect`` (to ``localhost``), ``/gate`` (held until released)."""

    base: str = ""
    release: asyncio.Event = field(default_factory=asyncio.Event)
    waiting: int = 0
    authorizations: list[str] = field(default_factory=list)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        headers = dict(scope["headers"])
        if b"authorization" in headers:
            self.authorizations.append(headers[b"authorization"].decode())
        status, extra = 200, []
        if path == "/redirect":
            port = self.base.rsplit(":", 1)[1]
            status, extra = 302, [(b"location", f"http://localhost:{port}/ok".encode())]
        elif path == "/gate":
            self.waiting += 1
            await self.release.wait()
        await send({"type": "http.response.start", "status": status, "headers": extra})
        await send({"type": "http.response.body", "body": b"ok"})


@dataclass
class World:
    client: AppClient
    kernel: Kernel
    server: Server
    a: str
    b: str
    agents: dict[str, str]

    async def invoke(self, workspace: str, tool: str, arguments: Any = None, user: dict[str, str] = ALICE) -> Any:
        body = {"arguments": arguments or {}}
        return await self.client.post(
            f"/api/tools/{tool}/invoke", json=body, headers={**user, "X-Workspace-ID": workspace}
        )

    async def ok(self, workspace: str, tool: str, arguments: Any = None, user: dict[str, str] = ALICE) -> Any:
        answer = await self.invoke(workspace, tool, arguments, user)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["ok"], body
        return body["result"]

    async def failed(self, workspace: str, tool: str, arguments: Any = None, user: dict[str, str] = ALICE) -> Any:
        answer = await self.invoke(workspace, tool, arguments, user)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert not body["ok"] and body["result"] is None, body
        error: dict[str, Any] = body["error"]
        return error


async def approve(client: AppClient, data: bytes, granted: dict[str, list[str]] | None = None) -> None:
    made = await upload(client, data, ALICE)
    assert made.status_code == 201, made.text
    await container_of(client).marketplace().idle()
    body: dict[str, Any] = {"sha256": made.json()["sha256"], "override": True, "reason": "test"}
    if granted is not None:
        body["granted_permissions"] = granted
    done = await client.post(f"/api/admin/plugins/versions/{made.json()['id']}/approve", json=body, headers=ROOT)
    assert done.status_code == 200, done.text


async def users(kernel: Kernel) -> None:
    async with kernel.store.sessionmaker.begin() as session:
        session.add(m.User(id="root", email="root@example.com", display_name="root", is_platform_admin=True))
        for user in ("alice", "bob", "carol"):
            session.add(m.User(id=user, email=f"{user}@example.com", display_name=user))


def problem(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code and body["detail"]
    return body


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    container = make_container(
        tmp_path_factory.mktemp("adversarial"),
        rate_limit_default="1000000/minute",
        sandbox_http_allow_private=True,
        sandbox_pool_size=2,
        sandbox_workspace_max_share=0.5,
        plugins_quarantine_after=5,
    )
    server = Server()
    async with serve_app(create_app(container)) as client, serve_http(server) as base:
        server.base = base
        kernel: Kernel = client.app.state["kernel"]
        await users(kernel)
        timeout = await client.put("/api/platform-settings/sandbox.timeout_seconds", json={"value": 2}, headers=ROOT)
        assert timeout.status_code == 200, timeout.text
        local = {"network": ["127.0.0.1"], "env": []}
        await approve(client, bundle("Limit Tools", LIMITS))
        await approve(client, bundle("Other Tools", OTHER, network=["127.0.0.1"]), local)
        await approve(
            client,
            bundle("Probe Tools", PROBE, network=["127.0.0.1", "localhost", "169.254.169.254"], env=["PROBE_TOKEN"]),
            {"network": ["127.0.0.1"], "env": ["PROBE_TOKEN"]},
        )
        await approve(
            client,
            bundle("Secret Tools", SECRET, network=["127.0.0.1"], env=["SECRET_TOKEN"]),
            {"network": ["127.0.0.1"], "env": ["SECRET_TOKEN"]},
        )
        for name, code in (
            ("Handler Tools", HANDLERS),
            ("Lambda Tools", LAMBDA),
            ("Many Tools", MANY),
            ("Big Schema", BIG_SCHEMA),
        ):
            await approve(client, bundle(name, code))
        a = await client.post("/api/workspaces", json={"slug": "alpha", "name": "A"}, headers=ALICE)
        b = await client.post("/api/workspaces", json={"slug": "bravo", "name": "B"}, headers=BOB)
        assert a.status_code == 201 and b.status_code == 201, (a.text, b.text)
        member = await client.post(
            f"/api/workspaces/{a.json()['id']}/members",
            json={"email": "carol@example.com", "role": "member"},
            headers=ALICE,
        )
        assert member.status_code == 201, member.text
        agents: dict[str, str] = {}
        for name, user, workspace in (("a-agent", ALICE, a.json()["id"]), ("b-agent", BOB, b.json()["id"])):
            made = await client.post(
                "/api/agents", json={"name": name, "slug": name}, headers={**user, "X-Workspace-ID": workspace}
            )
            assert made.status_code == 201, made.text
            agents[name] = made.json()["id"]
        yield World(client, kernel, server, a.json()["id"], b.json()["id"], agents)


async def enable(world: World, workspace: str, slug: str, **body: Any) -> dict[str, Any]:
    headers = ALICE if workspace == world.a else BOB
    made = await world.client.post(f"/api/workspaces/{workspace}/plugins", json={"slug": slug, **body}, headers=headers)
    assert made.status_code == 201, made.text
    record: dict[str, Any] = made.json()
    return record


# --- 1. limits through invoke -------------------------------------------------------------------


async def test_limits_of_a_real_plugin_then_quarantine_in_one_workspace_only(world: World) -> None:
    await enable(world, world.a, "limit-tools")
    await enable(world, world.b, "limit-tools")
    await enable(world, world.a, "other-tools")
    expected = [
        ("limit-tools__spin", ("cpu_seconds", "wall_seconds"), 2.0),
        ("limit-tools__noisy", ("output_bytes",), 65536.0),
        ("limit-tools__hog", ("memory_mb",), 256.0),
        ("limit-tools__huge", ("result_bytes",), 1048576.0),
    ]
    for tool, limits, value in expected:
        error = await world.failed(world.a, tool)
        assert error["kind"] == "limit" and error["limit"] in limits, (tool, error)
        assert error["value"] == value, (tool, error)
        assert await world.ok(world.a, "other-tools__ping") == "pong"  # the pool recovered
    # four failures in a row: still there; the fifth quarantines it in A
    assert (await world.failed(world.a, "limit-tools__spin"))["kind"] == "limit"
    listed = await world.client.get(f"/api/workspaces/{world.a}/plugins/limit-tools", headers=ALICE)
    assert listed.json()["status"] == "quarantined", listed.text
    assert "5 consecutive calls failed" in listed.json()["status_reason"]
    gone = problem(await world.invoke(world.a, "limit-tools__fine"), 404)
    assert gone["field"] == "name"
    # B's enablement of the same plugin is untouched
    assert await world.ok(world.b, "limit-tools__fine", user=BOB) == {"fine": True}
    in_b = await world.client.get(f"/api/workspaces/{world.b}/plugins/limit-tools", headers=BOB)
    assert in_b.json()["status"] == "active", in_b.text


# --- 2. escapes through ctx ---------------------------------------------------------------------


async def test_ctx_cannot_be_modified_introspected_or_kept(world: World) -> None:
    await enable(world, world.a, "probe-tools", config={"PROBE_TOKEN": "probe-value"})

    async def refused(tool: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        error: dict[str, Any] = await world.failed(world.a, tool, arguments)
        assert await world.ok(world.a, "probe-tools__fine") == "fine"  # resets the failure count
        return error

    assert (await refused("probe-tools__env_write"))["kind"] in ("policy", "runtime")
    assert (await refused("probe-tools__env_update"))["kind"] == "runtime"
    for what in ("class", "log_dict", "job", "caps", "vars", "setattr", "plugin", "type_call"):
        error = await refused("probe-tools__probe", {"what": what})
        assert error["kind"] in ("policy", "runtime"), (what, error)
        assert "probe-value" not in json.dumps(error)
    # type(ctx) names a class; nothing of its internals comes with it
    assert "CallContext" in await world.ok(world.a, "probe-tools__probe", {"what": "type"})
    # a ctx kept in module state by register, or by an earlier call, is gone: modules run afresh
    assert await world.ok(world.a, "probe-tools__probe", {"what": "kept"}) == 0
    assert await world.ok(world.a, "probe-tools__keep") == 1
    assert await world.ok(world.a, "probe-tools__keep") == 1
    # a schema's regular expressions never run unbounded in the API process (shared by every tenant)
    hang = problem(await world.invoke(world.a, "probe-tools__exponential", {"s": "a" * 64 + "!"}), 409)
    assert hang["field"] == "name" and "repeat inside a repeat" in hang["detail"]
    assert await world.ok(world.a, "probe-tools__quadratic", {"s": "  x"}) == ["s"]
    assert problem(await world.invoke(world.a, "probe-tools__quadratic", {"s": "a"}), 422)["field"] == "arguments.s"
    long = problem(await world.invoke(world.a, "probe-tools__quadratic", {"s": " " * 1_000_000}), 422)
    assert long["field"] == "arguments.s" and "4096" in long["detail"]
    assert await world.ok(world.a, "probe-tools__keyed", {"k1": 1, "other": "x"}) == ["k1", "other"]
    long_key = problem(await world.invoke(world.a, "probe-tools__keyed", {"k" * 900_000: 1}), 422)
    assert long_key["field"].startswith("arguments.kkk")
    # a huge error message comes back cut, not as megabytes
    shout = await world.invoke(world.a, "probe-tools__shout", {"size": 20 * 1024 * 1024}, user=CAROL)
    assert shout.status_code == 200 and len(shout.content) < 100_000, len(shout.content)
    assert await world.ok(world.a, "probe-tools__fine") == "fine"
    # a member sending arguments the handler cannot take (the schema allows them) does not quarantine it
    for extra in ({"ctx": 1}, {"other": 1}, {"a-b": 1}, {"url": "x", "ctx": 1}):
        answer = await world.invoke(
            world.a, "probe-tools__fetch_loose", {"url": "http://x.invalid", **extra}, user=CAROL
        )
        assert answer.status_code in (200, 422), answer.text
    for _ in range(5):
        await world.invoke(world.a, "probe-tools__fetch_loose", {"url": "http://x.invalid", "ctx": 1}, user=CAROL)
    still = await world.client.get(f"/api/workspaces/{world.a}/plugins/probe-tools", headers=ALICE)
    assert still.json()["status"] == "active", still.text


async def test_kv_keys_stay_in_the_plugins_namespace(world: World) -> None:
    await enable(world, world.b, "probe-tools")
    a, b = world.a, world.b
    assert await world.ok(a, "probe-tools__kv_set", {"key": "../other", "value": {"from": "A"}}) == {"from": "A"}
    assert await world.ok(b, "probe-tools__kv_get", {"key": "../other"}, user=BOB) is None
    assert await world.ok(a, "probe-tools__kv_get", {"key": "../other"}) == {"from": "A"}
    for key in (f"plugin:{b}:x", "x" * 201, "", "a b", "ключ", "a\x00b", f"../../plugin:{b}:probe-tools:x"):
        error = await world.failed(a, "probe-tools__kv_set", {"key": key, "value": 1})
        assert error["kind"] == "capability" and "key" in error["message"], (key, error)
        assert await world.ok(a, "probe-tools__fine") == "fine"
    for what in ("set", "nan", "ttl"):
        error = await world.failed(a, "probe-tools__kv_odd", {"what": what})
        assert error["kind"] in ("capability", "runtime"), (what, error)
        assert await world.ok(a, "probe-tools__fine") == "fine"
    # nothing landed outside the namespace: the raw KV holds A's key under A's namespace only
    kv = world.kernel.backends.kv
    assert await kv.with_namespace(f"plugin:{a}:probe-tools").get("../other") is not None
    assert await kv.with_namespace(f"plugin:{b}:probe-tools").get("../other") is None


async def test_http_reaches_only_granted_hosts(world: World) -> None:
    port = world.server.base.rsplit(":", 1)[1]
    a = world.a
    assert await world.ok(a, "probe-tools__fetch", {"url": f"{world.server.base}/ok"}) == 200
    for url, words in (
        (f"http://localhost:{port}/ok", ("localhost",)),  # declared, not granted
        (f"{world.server.base}/redirect", ("redirect", "localhost")),
        ("http://169.254.169.254/latest/meta-data/", ("169.254.169.254",)),
        ("file:///etc/passwd", ("file",)),
        (f"http://127.0.0.1.nip.io:{port}/ok", ("nip.io",)),
        (f"http://user@127.0.0.1@localhost:{port}/ok", ()),
    ):
        error = await world.failed(a, "probe-tools__fetch", {"url": url})
        assert error["kind"] == "capability", (url, error)
        assert all(w in error["message"] for w in words), (url, error)
        assert await world.ok(a, "probe-tools__fine") == "fine"


async def test_register_declares_only_top_level_functions_of_the_bundle(world: World) -> None:
    record = await enable(world, world.a, "handler-tools")
    assert record["status"] == "active" and record["tools"] == 1, record
    tools = (
        await world.client.get(
            "/api/tools", params={"q": "handler-tools"}, headers={**ALICE, "X-Workspace-ID": world.a}
        )
    ).json()
    assert [t["name"] for t in tools["items"]] == ["handler-tools__fine"]
    assert await world.ok(world.a, "handler-tools__fine") == "fine"
    for slug, words in (
        ("lambda-tools", ("not a method, a nested function or a lambda",)),
        ("many-tools", ("at most 100 tools",)),
        ("big-schema", ("parameters", "bytes")),
    ):
        made = await world.client.post(f"/api/workspaces/{world.a}/plugins", json={"slug": slug}, headers=ALICE)
        assert made.status_code == 201, made.text
        record = made.json()
        assert record["status"] == "quarantined" and record["tools"] == 0, record
        reason = record["status_reason"]
        assert reason.startswith("register failed:") and all(w in reason for w in words), reason
        assert len(made.content) < 10_000
        assert problem(await world.invoke(world.a, f"{slug.replace('-', '_')}__one"), 404)


# --- 3. cross-tenant ----------------------------------------------------------------------------


async def test_workspace_b_reaches_nothing_of_a_and_config_values_are_never_told(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    client, a, b = world.client, world.a, world.b
    answers: list[httpx.Response] = []

    async def call(method: str, url: str, headers: dict[str, str], **kwargs: Any) -> httpx.Response:
        answer = await client.request(method, url, headers=headers, **kwargs)
        answers.append(answer)
        assert answer.status_code < 500, (url, answer.text)
        return answer

    in_a, in_b = {**ALICE, "X-Workspace-ID": a}, {**BOB, "X-Workspace-ID": b}
    with caplog.at_level(logging.DEBUG):
        made_a = await call(
            "POST",
            f"/api/workspaces/{a}/plugins",
            ALICE,
            json={"slug": "secret-tools", "config": {"SECRET_TOKEN": SECRET_A}},
        )
        made_b = await call(
            "POST",
            f"/api/workspaces/{b}/plugins",
            BOB,
            json={"slug": "secret-tools", "config": {"SECRET_TOKEN": SECRET_B}},
        )
        assert made_a.status_code == 201 and made_b.status_code == 201, (made_a.text, made_b.text)
        await call("POST", f"/api/workspaces/{a}/plugins", ALICE, json={"slug": "other-tools"})  # 201 or 409
        # B's admin: A's rows, config and tools do not exist for B
        for method, url, body in (
            ("GET", f"/api/workspaces/{a}/plugins", None),
            ("GET", f"/api/workspaces/{a}/plugins/secret-tools", None),
            ("PATCH", f"/api/workspaces/{a}/plugins/secret-tools", {"config": {"SECRET_TOKEN": "bobs"}}),
            ("DELETE", f"/api/workspaces/{a}/plugins/secret-tools", None),
            ("POST", f"/api/workspaces/{a}/plugins/secret-tools/restore", None),
            ("POST", f"/api/workspaces/{a}/plugins/secret-tools/upgrade", {}),
        ):
            problem(await call(method, url, BOB, json=body), 403, 404)
        mine = (await call("GET", f"/api/workspaces/{b}/plugins/secret-tools", BOB)).json()
        assert mine["config_keys"] == ["SECRET_TOKEN"]
        assert problem(await call("POST", "/api/tools/other-tools__ping/invoke", in_b, json={}), 404)["field"] == "name"
        problem(await call("POST", "/api/tools/other-tools__ping/invoke", {**BOB, "X-Workspace-ID": a}, json={}), 403)
        listed = (await call("GET", "/api/tools", in_b)).json()
        assert not [t for t in listed["items"] if t["name"].startswith("other-tools__")]
        # A's plugin for B's agent; A's agent in B's paths
        assigned = await call(
            "PUT", f"/api/agents/{world.agents['b-agent']}/plugins", in_b, json={"plugins": ["other-tools"]}
        )
        assert problem(assigned, 422)["field"] == "plugins[0]"
        a_agent = world.agents["a-agent"]
        for verb, path, payload in (
            ("PUT", f"/api/agents/{a_agent}/plugins", {"plugins": ["secret-tools"]}),
            ("GET", f"/api/agents/{a_agent}/plugins", None),
            ("GET", f"/api/agents/{a_agent}/tools", None),
        ):
            assert problem(await call(verb, path, in_b, json=payload), 404)["field"] == "agent", path
        # kv: the same plugin in A and B, two namespaces
        assert (
            await call("POST", "/api/tools/secret-tools__note/invoke", in_a, json={"arguments": {"value": "A's"}})
        ).json()["result"] == "A's"
        assert (await call("POST", "/api/tools/secret-tools__read/invoke", in_b, json={})).json()["result"] is None
        # env: each workspace's own value reaches the host it was granted for
        for headers, secret in ((in_a, SECRET_A), (in_b, SECRET_B)):
            world.server.authorizations.clear()
            used = await call(
                "POST",
                "/api/tools/secret-tools__use/invoke",
                headers,
                json={"arguments": {"url": f"{world.server.base}/ok"}},
            )
            assert used.json()["result"] == 200, used.text
            assert world.server.authorizations == [f"Bearer {secret}"]
        # a handler whose error would quote the value: redacted, and so is the quarantine it leads to
        for _ in range(5):
            parsed = await call("POST", "/api/tools/secret-tools__parse/invoke", in_a, json={})
            assert parsed.json()["error"]["kind"] == "runtime" and "ValueError" in parsed.json()["error"]["message"]
        reason = (await call("GET", f"/api/workspaces/{a}/plugins/secret-tools", ALICE)).json()["status_reason"]
        assert "5 consecutive calls failed" in reason and "ValueError" in reason
        await call("GET", f"/api/workspaces/{a}/plugins", ALICE)
        await call("GET", "/api/marketplace/plugins/secret-tools", in_a)
    async with world.kernel.store.sessionmaker() as session:
        audit = (await session.scalars(select(m.AuditLogEntry))).all()
        stored = (await session.scalars(select(WorkspacePlugin.config))).all()
    for secret in (SECRET_A, SECRET_B):
        for answer in answers:
            assert secret not in answer.text, (answer.request.url, answer.text)
        assert secret not in caplog.text
        assert not [e for e in audit if secret in json.dumps(e.data)], secret
        assert secret not in json.dumps(stored)
    assert any(e.action == "plugin.quarantined" for e in audit)


# --- 4. bad input on every route ----------------------------------------------------------------


def _deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


async def test_bad_input_is_a_4xx_naming_the_field_never_a_5xx(world: World) -> None:
    client, a = world.client, world.a
    headers = {**ALICE, "X-Workspace-ID": a}
    json_headers = {**headers, "content-type": "application/json"}
    await client.post(f"/api/workspaces/{a}/plugins", json={"slug": "probe-tools"}, headers=ALICE)  # 201 or 409
    base = f"/api/workspaces/{a}/plugins"
    agent = world.agents["a-agent"]
    raw_cases: list[tuple[str, str, bytes, str | None]] = [
        # (method, url, raw JSON body, the field the answer names, when it can name one)
        ("POST", "/api/tools/probe-tools__kv_get/invoke", b'{"arguments": ' + _deep(10_000) + b"}", None),
        ("POST", "/api/tools/probe-tools__kv_get/invoke", b'{"arguments": {"key": ' + _deep(10_000) + b"}}", None),
        ("POST", "/api/tools/probe-tools__kv_get/invoke", b'{"arguments": null}', "arguments"),
        ("POST", "/api/tools/probe-tools__kv_get/invoke", b'{"arguments": {}, "extra": 1}', "extra"),
        ("POST", "/api/tools/probe-tools__kv_get/invoke", b'{"arguments": {"key": "\xff"}}', None),
        ("POST", "/api/tools/probe-tools__kv_get/invoke", b"not json", None),
        ("POST", base, b'{"slug": ' + _deep(10_000) + b"}", None),
        ("POST", base, b'{"slug": null}', "slug"),
        ("POST", base, b'{"plugins": null}', None),
        ("POST", base, b'{"slug": "probe-tools", "unknown": true}', "unknown"),
        ("POST", base, b'{"slug": "\xff\xfe"}', None),
        ("POST", base, b"[]", None),
        ("PUT", f"/api/agents/{agent}/plugins", b'{"plugins": null}', "plugins"),
        ("PUT", f"/api/agents/{agent}/plugins", b'{"plugins": ' + _deep(10_000) + b"}", None),
        ("PATCH", f"{base}/probe-tools", b'{"config": null}', "config"),
        ("PATCH", f"{base}/probe-tools", b'{"config": {"PROBE_TOKEN": 1}}', "config"),  # msgspec names it config[...]
        ("POST", f"{base}/probe-tools/upgrade", b'{"version": ' + _deep(10_000) + b"}", None),
    ]
    for method, url, body, named in raw_cases:
        answer = await client.request(method, url, content=body, headers=json_headers)
        got = problem(answer, 400, 404, 409, 413, 415, 422)
        if named is not None:
            assert named in (got.get("field") or "") + json.dumps(got.get("errors", "")), (url, body[:80], got)
    many = {f"KEY_{i}": "v" for i in range(10_000)}
    json_cases: list[tuple[str, str, Any, str | None]] = [
        ("POST", base, {"slug": "\x00"}, None),
        ("POST", base, {"slug": "é" * 100}, "slug"),
        ("POST", base, {"slug": "x" * 101}, "slug"),
        ("POST", base, {"slug": "../../etc"}, "slug"),
        ("POST", base, {"slug": "probe-tools", "version": "../../x"}, None),
        ("POST", base, {"slug": "limit-tools", "version": "../../x"}, "version"),
        ("POST", base, {"slug": "limit-tools", "version": "\x00"}, "version"),
        ("POST", base, {"slug": "limit-tools", "version": "v" * 65}, "version"),
        ("POST", f"{base}/probe-tools/upgrade", {"version": "../../x"}, "version"),
        ("PATCH", f"{base}/probe-tools", {"config": many}, "config.KEY_0"),
        ("PATCH", f"{base}/probe-tools", {"config": {"PROBE_TOKEN": "x" * 5000}}, "config.PROBE_TOKEN"),
        ("PATCH", f"{base}/probe-tools", {"config": {"\x00": "x"}}, "config.\x00"),
        ("PUT", f"/api/agents/{agent}/plugins", {"plugins": ["probe-tools"] * 100}, "plugins[1]"),
        ("PUT", f"/api/agents/{agent}/plugins", {"plugins": ["probe-tools"] * 101}, "plugins"),
        ("PUT", f"/api/agents/{agent}/plugins", {"plugins": ["nope", "\x00", "é" * 100]}, "plugins[0]"),
        ("PUT", f"/api/agents/{agent}/plugins", {"plugins": [1, 2]}, "plugins"),
        ("PUT", f"/api/agents/{agent}/plugins", {"plugins": ["probe-tools"], "agent": "x"}, "agent"),
        ("POST", "/api/tools/probe-tools__kv_get/invoke", {"arguments": {"nope": 1}}, "arguments.key"),
        ("POST", "/api/tools/probe-tools__kv_get/invoke", {"arguments": {"key": "k" * 2_000_000}}, None),
        ("POST", "/api/tools/%00/invoke", {"arguments": {}}, "name"),
        ("GET", "/api/tools/%00", None, "name"),
        ("GET", f"/api/tools/{'x' * 5000}", None, "name"),
        ("POST", f"/api/tools/{'é' * 300}/invoke", {"arguments": {}}, "name"),
        ("POST", "/api/tools/..%2F..%2Fworkspaces/invoke", {"arguments": {}}, None),
        ("PUT", "/api/agents/%00/plugins", {"plugins": []}, "agent"),
        ("GET", "/api/agents/%00/tools", None, "agent"),
        ("GET", f"/api/agents/{'x' * 5000}/plugins", None, "agent"),
        ("GET", f"{base}/%00", None, "slug"),
        ("GET", f"{base}/{'x' * 5000}", None, "slug"),
        ("DELETE", f"{base}/%00", None, "slug"),
        ("POST", f"{base}/%00/restore", None, "slug"),
        ("GET", "/api/marketplace/plugins/%00", None, "slug"),
        ("GET", f"/api/marketplace/plugins/{'é' * 3000}", None, "slug"),
        ("GET", "/api/marketplace/plugins?limit=-1", None, "limit"),
        ("GET", "/api/marketplace/plugins?offset=abc", None, "offset"),
        ("GET", f"/api/marketplace/plugins?q={'q' * 201}", None, "q"),
        ("GET", f"{base}?limit=100000", None, "limit"),
        ("GET", "/api/tools?limit=0", None, "limit"),
        ("GET", f"/api/tools?source={'s' * 51}", None, "source"),
        ("GET", "/api/workspaces/%00/plugins", None, None),
    ]
    for method, url, payload, named in json_cases:
        answer = await client.request(method, url, json=payload, headers=headers)
        got = problem(answer, 400, 403, 404, 409, 413, 422)
        if named is not None:
            where = (got.get("field") or "") + json.dumps(got.get("errors", ""))
            assert named in where or named.encode("unicode_escape").decode() in where, (method, url, got)
    # arguments the schema allows reach the handler, whose refusal is the call's outcome
    odd = await world.failed(a, "probe-tools__kv_get", {"key": {"nested": [1, 2, {"deep": None}]}})
    assert odd["kind"] == "capability" and "key" in odd["message"]
    assert await world.ok(a, "probe-tools__fine") == "fine"
    b_base = f"/api/workspaces/{world.b}/plugins"
    for config in (many, {"SECRET_TOKEN": "x" * 5000}, {"\x00": "x"}):
        answer = await client.post(b_base, json={"slug": "other-tools", "config": config}, headers=BOB)
        assert problem(answer, 422)["field"].startswith("config."), answer.text
    # odd but harmless text is a plain answer, not an error
    for url in ("/api/marketplace/plugins?q=%00", "/api/marketplace/plugins?category=%00", "/api/tools?q=%00"):
        assert (await client.get(url, headers=headers)).status_code == 200, url
    # wrong content types
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        answer = await client.post(base, content=b"slug=probe-tools", headers={**headers, "content-type": content_type})
        problem(answer, 400, 415, 422)
    assert (await client.get(f"{base}/probe-tools", headers=ALICE)).json()["status"] == "active"


# --- 5. fair share ------------------------------------------------------------------------------


async def _until(predicate: Any, what: str, deadline_s: float = 20.0) -> None:
    """Poll until ``predicate()`` holds; a liveness deadline, not a timing assertion."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + deadline_s
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"not reached: {what}")
        await asyncio.sleep(0.01)


async def test_a_flooding_workspace_does_not_starve_another(world: World) -> None:
    for workspace in (world.a, world.b):
        headers = ALICE if workspace == world.a else BOB
        await world.client.post(f"/api/workspaces/{workspace}/plugins", json={"slug": "other-tools"}, headers=headers)
    server = world.server
    server.release.clear()
    server.waiting = 0
    gate = {"url": f"{server.base}/gate"}
    flood = [asyncio.ensure_future(world.invoke(world.a, "other-tools__gate", gate)) for _ in range(20)]
    try:
        await _until(lambda: server.waiting >= 1, "one of A's calls holds a worker")
        # A holds its share (one of the two workers); B's call takes the other and finishes
        assert await world.ok(world.b, "other-tools__ping", user=BOB) == "pong"
        assert await world.ok(world.b, "other-tools__slow", {"rounds": 1000}, user=BOB) == 499500
        assert not any(task.done() for task in flood)
        assert server.waiting == 1  # A never held more than its share
    finally:
        server.release.set()
    answers = await asyncio.gather(*flood)
    assert [a.status_code for a in answers] == [200] * 20, [a.text for a in answers if a.status_code != 200]
    assert sum(1 for a in answers if a.json()["ok"]) >= 19  # the first may have met the 2 s wall limit


# --- 6. races -----------------------------------------------------------------------------------


async def test_disabling_while_a_call_is_in_flight(world: World) -> None:
    client, a = world.client, world.a
    await client.post(f"/api/workspaces/{a}/plugins", json={"slug": "other-tools"}, headers=ALICE)
    agent = world.agents["a-agent"]
    placed = await client.put(
        f"/api/agents/{agent}/plugins", json={"plugins": ["other-tools"]}, headers={**ALICE, "X-Workspace-ID": a}
    )
    assert placed.status_code == 200, placed.text
    server = world.server
    server.release.clear()
    server.waiting = 0
    call = asyncio.ensure_future(world.invoke(a, "other-tools__gate", {"url": f"{server.base}/gate"}))
    try:
        await _until(lambda: server.waiting >= 1, "the call is in the plugin")
        off = await client.delete(f"/api/workspaces/{a}/plugins/other-tools", headers=ALICE)
        assert off.status_code == 204, off.text
    finally:
        server.release.set()
    answer = await call
    assert answer.status_code == 200, answer.text  # its result, or its clean error: never a 5xx
    assert problem(await world.invoke(a, "other-tools__ping"), 404)["field"] == "name"
    async with world.kernel.store.sessionmaker() as session:
        plugin_id = await session.scalar(select(MarketplacePlugin.id).where(MarketplacePlugin.slug == "other-tools"))
        rows = (await session.scalars(select(WorkspacePlugin).where(WorkspacePlugin.workspace_id == a))).all()
        assigned = (await session.scalars(select(AgentPlugin).where(AgentPlugin.workspace_id == a))).all()
    assert plugin_id is not None and plugin_id not in [r.plugin_id for r in rows]
    assert not [r for r in assigned if r.plugin_id == plugin_id]
    again = await client.post(f"/api/workspaces/{a}/plugins", json={"slug": "other-tools"}, headers=ALICE)
    assert again.status_code == 201 and again.json()["status"] == "active", again.text


@pytest.fixture(params=["sqlite", "postgres"])
async def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AppClient]:
    async with database_settings(request) as settings:
        container = make_container(tmp_path, rate_limit_default="1000000/minute", **settings)
        async with serve_app(create_app(container)) as client:
            await users(client.app.state["kernel"])
            yield client


async def test_enabling_twice_at_once_is_one_201_and_one_409(fresh: AppClient) -> None:
    await approve(fresh, bundle("Other Tools", OTHER, network=["127.0.0.1"]))
    made = await fresh.post("/api/workspaces", json={"slug": "alpha", "name": "A"}, headers=ALICE)
    a = made.json()["id"]
    url = f"/api/workspaces/{a}/plugins"
    both = await asyncio.gather(*(fresh.post(url, json={"slug": "other-tools"}, headers=ALICE) for _ in range(2)))
    assert sorted(r.status_code for r in both) == [201, 409], [r.text for r in both]
    assert problem(next(r for r in both if r.status_code == 409), 409)["field"] == "slug"
    off = await asyncio.gather(*(fresh.delete(f"{url}/other-tools", headers=ALICE) for _ in range(2)))
    assert sorted(r.status_code for r in off) == [204, 404], [r.text for r in off]
    kernel: Kernel = fresh.app.state["kernel"]
    async with kernel.store.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(WorkspacePlugin)) == 0
        actions = (await session.scalars(select(m.AuditLogEntry.action).where(m.AuditLogEntry.workspace_id == a))).all()
    assert sorted(x for x in actions if x.startswith("plugin.")) == ["plugin.disabled", "plugin.enabled"]
