"""The url-card example plugin (examples/url-card), end to end through the API, in the sandbox.

Packaged and signed with a publisher key the deployment trusts, uploaded by a developer (Alice),
scanned ``safe``, approved by a platform admin (Root) granting one of the hosts it declares,
enabled in Alice's workspace A, assigned to an agent: the agent's tools list it, ``invoke`` fetches
a page of the granted host (a local HTTP server: the test allows private addresses, and the
bundle's declared hosts are rewritten to name it — the code is the example's, byte for byte) and
returns the card; a declared but ungranted host is refused with the reason; the agent's system
prompt carries the plugin's skill; in Bob's workspace B none of it exists.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from automatos.api.app import create_app
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from automatos.marketplace.bundle import package_directory
from automatos.marketplace.signing import generate_key, sign_files
from tests.helpers import AppClient, container_of, make_container, serve_app
from tests.marketplace.test_submissions import ALICE, BOB, ROOT, problem, upload
from tests.tools.prompts import record_prompts

ROOT_DIR = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT_DIR / "examples" / "url-card"
ADMIN = "/api/admin/plugins"
TOOL = "url-card__url_card"

PAGE = b"""<!doctype html><html lang="en"><head><title>PEP 20 - The Zen of Python</title>
<meta property="og:title" content="PEP 20 &ndash; The Zen of Python">
<meta property="og:description"
      content="Long time Pythoneer Tim Peters succinctly channels the BDFL's guiding principles.">
<meta property="og:image" content="/_static/og-image.png">
<meta property="og:site_name" content="Python Enhancement Proposals (PEPs)">
</head><body><h1>PEP 20</h1><p>Beautiful is better than ugly.</p></body></html>"""


class _Page(BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        if self.path.startswith("/pep-0020"):
            self.send_response(200)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)
        else:
            self.send_response(404)
            self.send_header("content-length", "0")
            self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def publisher() -> tuple[bytes, str]:
    return generate_key()


@pytest.fixture
async def client(tmp_path: Path, publisher: tuple[bytes, str]) -> AsyncIterator[AppClient]:
    container = make_container(
        tmp_path,
        rate_limit_default="100000/minute",
        plugins_require_signature=True,
        plugins_trusted_keys=(publisher[1],),
        sandbox_http_allow_private=True,
    )
    async with serve_app(create_app(container)) as test_client:
        kernel: Kernel = test_client.app.state["kernel"]
        async with kernel.store.sessionmaker.begin() as session:
            session.add(m.User(id="root", email="root@example.com", display_name="root", is_platform_admin=True))
            session.add(m.User(id="alice", email="alice@example.com", display_name="alice"))
            session.add(m.User(id="bob", email="bob@example.com", display_name="bob"))
        yield test_client


def _signed_bundle(tmp_path: Path, private_pem: bytes) -> bytes:
    """The example, its declared hosts naming the test's server, signed and packaged."""
    tree = tmp_path / "url-card"
    shutil.copytree(EXAMPLE, tree, ignore=shutil.ignore_patterns("__pycache__", "tests"))
    manifest = tree / "plugin.toml"
    text, count = re.subn(
        r"^network = \[.*\]$", 'network = ["localhost", "peps.python.org"]', manifest.read_text(), flags=re.M
    )
    assert count == 1
    manifest.write_text(text)
    for path in (EXAMPLE / "url_card").glob("*.py"):  # the code is the example's
        assert (tree / "url_card" / path.name).read_bytes() == path.read_bytes()
    files = {p.relative_to(tree).as_posix(): p.read_bytes() for p in tree.rglob("*") if p.is_file()}
    (tree / "SIGNATURE").write_bytes(sign_files(files, private_pem))
    return package_directory(tree)


def _in(workspace: str, headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "X-Workspace-ID": workspace}


async def test_url_card_end_to_end(client: AppClient, publisher: tuple[bytes, str], tmp_path: Path, site: str) -> None:
    # a developer uploads the signed bundle; it scans safe; a platform admin approves one host
    made = await upload(client, _signed_bundle(tmp_path, publisher[0]), ALICE)
    assert made.status_code == 201, made.text
    await container_of(client).marketplace().idle()
    version = (await client.get(f"{ADMIN}/versions/{made.json()['id']}", headers=ROOT)).json()
    assert version["status"] == "scanned" and version["verdict"] == "safe", version
    approved = await client.post(
        f"{ADMIN}/versions/{version['id']}/approve",
        json={"sha256": version["sha256"], "granted_permissions": {"network": ["localhost"]}},
        headers=ROOT,
    )
    assert approved.status_code == 200, approved.text

    a = (await client.post("/api/workspaces", json={"slug": "alpha", "name": "A"}, headers=ALICE)).json()["id"]
    b = (await client.post("/api/workspaces", json={"slug": "bravo", "name": "B"}, headers=BOB)).json()["id"]
    catalogue = (await client.get("/api/marketplace/plugins", headers=_in(b, BOB))).json()
    assert [p["slug"] for p in catalogue["items"]] == ["url-card"]  # the catalogue is the platform's

    # a workspace admin of A enables it and gives it to an agent
    enabled = await client.post(f"/api/workspaces/{a}/plugins", json={"slug": "url-card"}, headers=ALICE)
    assert enabled.status_code == 201, enabled.text
    assert enabled.json()["status"] == "active", enabled.json()
    agent = await client.post("/api/agents", json={"name": "Librarian", "slug": "librarian"}, headers=_in(a, ALICE))
    assert agent.status_code == 201, agent.text
    agent_id = agent.json()["id"]
    assigned = await client.put(
        f"/api/agents/{agent_id}/plugins", json={"plugins": ["url-card"]}, headers=_in(a, ALICE)
    )
    assert assigned.status_code == 200, assigned.text

    tools = (await client.get(f"/api/agents/{agent_id}/tools", headers=_in(a, ALICE))).json()
    names = [t["name"] for t in (tools["items"] if isinstance(tools, dict) else tools)]
    assert names == [TOOL, "url-card__card_from_html"], tools
    listed = (await client.get("/api/tools", params={"source": "plugin"}, headers=_in(a, ALICE))).json()
    assert {t["name"] for t in listed["items"]} == {TOOL, "url-card__card_from_html"}

    # invoke: the page of the granted host becomes a card, in the sandbox
    url = f"{site}/pep-0020/"
    called = await client.post(f"/api/tools/{TOOL}/invoke", json={"arguments": {"url": url}}, headers=_in(a, ALICE))
    assert called.status_code == 200, called.text
    body = called.json()
    assert body["ok"] is True, body
    card = body["result"]
    assert card["title"] == "PEP 20 \u2013 The Zen of Python"
    assert card["site"] == "Python Enhancement Proposals (PEPs)"
    assert card["image"] == f"{site}/_static/og-image.png"
    assert card["description"].startswith("Long time Pythoneer Tim Peters")
    assert card["cached"] is False and card["status"] == 200
    hits = _Page.hits
    again = (
        await client.post(f"/api/tools/{TOOL}/invoke", json={"arguments": {"url": url}}, headers=_in(a, ALICE))
    ).json()
    assert again["ok"] is True and again["result"]["cached"] is True  # ctx.kv, the plugin's namespace
    assert _Page.hits == hits

    # a host it declared but was not granted is refused, with the reason
    refused = (
        await client.post(
            f"/api/tools/{TOOL}/invoke",
            json={"arguments": {"url": "https://peps.python.org/pep-0008/"}},
            headers=_in(a, ALICE),
        )
    ).json()
    assert refused["ok"] is False, refused
    assert "peps.python.org" in refused["error"]["message"], refused
    # arguments that fail the schema are named
    bad = await client.post(
        f"/api/tools/{TOOL}/invoke", json={"arguments": {"url": url, "extra": 1}}, headers=_in(a, ALICE)
    )
    assert problem(bad, 422)["field"].startswith("arguments"), bad.text

    # the agent's system prompt carries the plugin's skill
    recorder = await record_prompts(client, a)
    chat = await client.post(
        "/api/chat", json={"agent": "librarian", "content": "What is PEP 20?"}, headers=_in(a, ALICE)
    )
    assert chat.status_code in (200, 201), chat.text
    assert "call the `url_card` tool" in recorder.system(), recorder.system()

    # in workspace B nothing of it exists
    problem(await client.get(f"/api/tools/{TOOL}", headers=_in(b, BOB)), 404)
    problem(await client.post(f"/api/tools/{TOOL}/invoke", json={"arguments": {"url": url}}, headers=_in(b, BOB)), 404)
    in_b = (await client.get("/api/tools", headers=_in(b, BOB))).json()["items"]
    assert [t for t in in_b if t["source"] == "plugin"] == []
    assert (await client.get(f"/api/workspaces/{b}/plugins", headers=BOB)).json()["items"] == []
    problem(await client.get(f"/api/agents/{agent_id}/tools", headers=_in(b, BOB)), 404)


@pytest.mark.parametrize("example", ["url-card", "marketplace-hello"])
def test_the_examples_own_unit_tests_pass(example: str) -> None:
    folder = ROOT_DIR / "examples" / example
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder / "tests")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(folder)},
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
