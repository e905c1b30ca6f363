"""Sandbox capabilities: ``http`` against a real local server, ``kv`` on the in-memory backend.

Snippets run in a real :class:`WorkerPool` (one worker): what is checked is what a snippet sees —
the proxy's return values and the ``CapabilityError`` a refusal becomes.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgspec
import pytest

from automatos.extensions.cache.memory import MemoryKV
from automatos.sandbox import Capability, Limits, SandboxResult, WorkerPool
from automatos.sandbox.capabilities import (
    CapabilityRefused,
    HttpCapability,
    KVCapability,
    capability_from_spec,
    host_allowed,
    normalize_host,
    public_address,
)

BIG = 50_000


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in {"Content-Type": "text/plain; charset=utf-8", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path == "/hello":
            self._send(200, b"hello", {"Set-Cookie": "session=ours", "X-Internal-Token": "t0p"})
        elif url.path == "/echo":
            echoed = {
                "method": self.command,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
            }
            self._send(200, json.dumps(echoed).encode(), {"Content-Type": "application/json"})
        elif url.path == "/redirect":
            self._send(302, b"", {"Location": query["to"][0]})
        elif url.path == "/big":
            self._send(200, b"x" * BIG)
        elif url.path == "/slow":
            time.sleep(1.5)
            self._send(200, b"late")
        else:
            self._send(404, b"no")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle


@contextmanager
def local_server() -> Iterator[str]:
    """A small HTTP server on 127.0.0.1 (threads); yields ``http://127.0.0.1:<port>``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with local_server() as url:
        yield url


@pytest.fixture(scope="module")
async def pool() -> AsyncIterator[WorkerPool]:
    async with WorkerPool(1) as pool:
        yield pool


LIMITS = Limits(cpu_seconds=2, wall_seconds=8)


async def run(pool: WorkerPool, code: str, caps: list[Capability], **inputs: Any) -> SandboxResult:
    return await pool.run(code, inputs, LIMITS, caps)


def refused(result: SandboxResult) -> str:
    assert not result.ok and result.error is not None, result
    assert result.error.kind == "capability", result.error
    return result.error.message


# --- http -----------------------------------------------------------------------------------------


async def test_allowed_get_from_a_snippet(pool: WorkerPool, base_url: str) -> None:
    http = HttpCapability(["127.0.0.1"], allow_private=True)
    code = "r = http.get(inputs['url'])\nresult = r"
    result = await run(pool, code, [http], url=f"{base_url}/hello")
    assert result.ok, result.error
    answer = result.result
    assert answer["status"] == 200 and answer["text"] == "hello" and answer["truncated"] is False
    assert answer["headers"]["content-type"].startswith("text/plain")
    # a safe subset of headers only: no cookies, nothing unknown
    assert "set-cookie" not in answer["headers"] and "x-internal-token" not in answer["headers"]


async def test_what_we_send_carries_nothing_of_ours(
    pool: WorkerPool, base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # proxy variables of this process are ignored (trust_env=False), and no cookie or credential is sent
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    http = HttpCapability(["127.0.0.1"], ["GET", "POST"], allow_private=True)
    code = "r = http.post(inputs['url'], headers={'X-Mine': 'yes'}, json={'a': 1})\nresult = r['text']"
    result = await run(pool, code, [http], url=f"{base_url}/echo")
    assert result.ok, result.error
    echoed = json.loads(result.result)
    assert echoed["method"] == "POST" and json.loads(echoed["body"]) == {"a": 1}
    headers = echoed["headers"]
    assert headers["x-mine"] == "yes" and headers["user-agent"] == "automatos-sandbox"
    assert "cookie" not in headers and "authorization" not in headers and "proxy-authorization" not in headers


async def test_disallowed_host_is_refused_by_name(pool: WorkerPool, base_url: str) -> None:
    http = HttpCapability(["127.0.0.1"], allow_private=True)
    other = base_url.replace("127.0.0.1", "localhost")  # the same server under a name not allowed
    message = refused(await run(pool, "http.get(inputs['url'])", [http], url=f"{other}/hello"))
    assert "host 'localhost' is not allowed" in message


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("file:///etc/passwd", "scheme 'file' is not allowed"),
        ("ftp://127.0.0.1/x", "scheme 'ftp' is not allowed"),
        ("http://user:pw@127.0.0.1/", "credentials"),
        ("http://127.0.0.1.evil.example/", "host '127.0.0.1.evil.example' is not allowed"),
        ("http://evil.example#@127.0.0.1/", "host 'evil.example' is not allowed"),
    ],
)
async def test_urls_that_are_not_allowed(pool: WorkerPool, url: str, needle: str) -> None:
    http = HttpCapability(["127.0.0.1"], allow_private=True)
    message = refused(await run(pool, "http.get(inputs['url'])", [http], url=url))
    assert needle in message, message


async def test_disallowed_method_is_refused_by_name(pool: WorkerPool, base_url: str) -> None:
    http = HttpCapability(["127.0.0.1"], allow_private=True)  # GET only
    message = refused(await run(pool, "http.post(inputs['url'], json={})", [http], url=f"{base_url}/echo"))
    assert "method POST is not allowed" in message
    message = refused(await run(pool, "http.request('delete', inputs['url'])", [http], url=f"{base_url}/echo"))
    assert "method DELETE is not allowed" in message
    message = refused(await run(pool, "http.request('BREW', inputs['url'])", [http], url=f"{base_url}/echo"))
    assert "'BREW' is not an HTTP method" in message


async def test_redirects_only_to_allowed_hosts(pool: WorkerPool, base_url: str) -> None:
    http = HttpCapability(["127.0.0.1"], allow_private=True)
    inside = f"{base_url}/redirect?to={base_url}/hello"
    result = await run(pool, "result = http.get(inputs['url'])", [http], url=inside)
    assert result.ok and result.result["text"] == "hello" and result.result["url"] == f"{base_url}/hello"

    outside = f"{base_url}/redirect?to={base_url.replace('127.0.0.1', 'localhost')}/hello"
    message = refused(await run(pool, "http.get(inputs['url'])", [http], url=outside))
    assert "redirect to host 'localhost' is not allowed" in message


async def test_response_is_capped(pool: WorkerPool, base_url: str) -> None:
    http = HttpCapability(["127.0.0.1"], max_response_bytes=1000, allow_private=True)
    code = "r = http.get(inputs['url'])\nresult = [len(r['text']), r['truncated']]"
    result = await run(pool, code, [http], url=f"{base_url}/big")
    assert result.ok and result.result == [1000, True]
    whole = await HttpCapability(["127.0.0.1"], allow_private=True).get(f"{base_url}/big")
    assert len(whole["text"]) == BIG and whole["truncated"] is False


async def test_timeout_and_bad_arguments_are_refusals(base_url: str) -> None:
    http = HttpCapability(["127.0.0.1"], timeout=0.3, allow_private=True)
    with pytest.raises(CapabilityRefused, match=r"GET 127\.0\.0\.1 timed out"):
        await http.get(f"{base_url}/slow")
    with pytest.raises(CapabilityRefused, match="bad arguments"):
        await http.call("get", [], {"nope": 1})
    with pytest.raises(CapabilityRefused, match="may not be set"):
        await http.get(f"{base_url}/hello", headers={"Host": "evil.example"})
    with pytest.raises(CapabilityRefused, match="no method"):
        await http.call("delete", [f"{base_url}/hello"], {})


async def test_a_run_has_a_call_budget(base_url: str) -> None:
    http = HttpCapability(["127.0.0.1"], max_calls=2, allow_private=True)
    for _ in range(2):
        await http.call("get", [f"{base_url}/hello"], {})
    with pytest.raises(CapabilityRefused, match="at most 2 http calls"):
        await http.call("get", [f"{base_url}/hello"], {})


def test_host_lists() -> None:
    assert normalize_host(" API.Example.COM. ") == "api.example.com"
    assert normalize_host("[::1]") == "::1"
    assert normalize_host("*.Example.com") == "*.example.com"
    for bad in ("*", "*.com", "exa mple.com", "http://example.com", "example.com/path", "", "a..b", "-a.com"):
        with pytest.raises(ValueError):
            normalize_host(bad)
    allowed = ["api.example.com", "*.svc.example.org", "127.0.0.1"]
    assert host_allowed("api.example.com", allowed)
    assert host_allowed("a.svc.example.org", allowed) and host_allowed("a.b.svc.example.org", allowed)
    assert host_allowed("*.a.svc.example.org", allowed) and host_allowed("*.svc.example.org", allowed)
    assert not host_allowed("svc.example.org", allowed)  # the wildcard is for subdomains only
    assert not host_allowed("evilsvc.example.org", allowed)
    assert not host_allowed("api.example.com.evil.net", allowed)
    assert not host_allowed("example.com", allowed) and not host_allowed("*.example.com", allowed)


# --- kv -------------------------------------------------------------------------------------------


async def test_kv_is_namespaced_per_workspace(pool: WorkerPool) -> None:
    kv = MemoryKV()
    await kv.set("secret", b'"platform"')
    await kv.with_namespace("sandbox:B:run").set("mine", b'"B only"')
    a = KVCapability(kv, "sandbox:A:run")
    b = KVCapability(kv, "sandbox:B:run")

    wrote = await run(
        pool, "kv.set('greeting', {'hello': inputs['who']}, 60)\nresult = kv.get('greeting')", [a], who="A"
    )
    assert wrote.ok and wrote.result == {"hello": "A"}, wrote.error
    assert await kv.get("sandbox:A:run:greeting") == b'{"hello":"A"}'  # where it really is

    seen = await run(pool, "result = [kv.get('greeting'), kv.get('mine'), kv.get('secret', 'absent')]", [b])
    assert seen.ok and seen.result == [None, "B only", "absent"]
    seen = await run(pool, "result = [kv.get('mine'), kv.get('secret')]", [a])
    assert seen.ok and seen.result == [None, None]
    deleted = await run(pool, "result = [kv.delete('greeting'), kv.delete('greeting')]", [a])
    assert deleted.result == [True, False]
    assert await kv.get("secret") == b'"platform"'


@pytest.mark.parametrize("key", ["", "a" * 201, "a:b", "sandbox:B:run:mine", "a b", "ключ", 3])
async def test_kv_keys_outside_the_charset_are_refused(pool: WorkerPool, key: Any) -> None:
    kv = KVCapability(MemoryKV(), "sandbox:A:run")
    message = refused(await run(pool, "kv.get(inputs['key'])", [kv], key=key))
    assert "is not 1-200 characters" in message


async def test_kv_value_size_and_ttl_bounds() -> None:
    store = MemoryKV()
    kv = KVCapability(store, "ns", max_value_bytes=100, max_ttl=60)
    with pytest.raises(CapabilityRefused, match="at most 100"):
        await kv.set("k", "x" * 200)
    bad_ttls: tuple[Any, ...] = (0, -1, 61, True, "10")
    for bad in bad_ttls:
        with pytest.raises(CapabilityRefused, match="ttl must be"):
            await kv.set("k", 1, bad)
    await kv.set("k", [1, 2])
    ttl = await store.with_namespace("ns").ttl("k")
    assert ttl is not None and 59 < ttl <= 60  # every value expires, by max_ttl at the latest
    assert await kv.call("get", ["k"], {}) == [1, 2]


# --- specs ----------------------------------------------------------------------------------------


async def test_spec_round_trip(base_url: str) -> None:
    kv = MemoryKV()
    caps: list[Any] = [
        HttpCapability(
            ["127.0.0.1", "*.Example.com"], ["post", "GET"], timeout=3, max_response_bytes=10, allow_private=True
        ),
        KVCapability(kv, "sandbox:A:run", max_value_bytes=10, max_ttl=5),
    ]
    for cap in caps:
        spec = msgspec.json.decode(msgspec.json.encode(cap.spec()))  # JSON all the way
        again = capability_from_spec(spec, kv=kv)
        assert type(again) is type(cap) and again.spec() == cap.spec()
        assert again.name == cap.name and again.methods == cap.methods
    http = capability_from_spec(caps[0].spec(), kv=None)
    assert isinstance(http, HttpCapability) and http.allow_hosts == ("*.example.com", "127.0.0.1")
    assert (await http.get(f"{base_url}/big"))["text"] == "x" * 10
    rebuilt = capability_from_spec(caps[1].spec(), kv=kv)
    assert isinstance(rebuilt, KVCapability)
    await caps[1].set("shared", 1)
    assert await rebuilt.get("shared") == 1  # the same namespace of the same backend

    with pytest.raises(ValueError, match="needs a key-value backend"):
        capability_from_spec(caps[1].spec(), kv=None)
    bad_specs: list[Any] = [
        {"name": "shell"},
        {"name": "http", "allow_hosts": "x"},
        {"name": "kv", "namespace": ""},
        [],
    ]
    for spec in bad_specs:
        with pytest.raises(ValueError):
            capability_from_spec(spec, kv=kv)
    with pytest.raises(ValueError, match="not a host name"):
        capability_from_spec({"name": "http", "allow_hosts": ["bad host"]}, kv=None)


# --- the platform's own network ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "2130706433",
        "0x7f000001",
        "169.254.169.254",
        "10.0.0.1",
        "[::1]",
    ],
)
async def test_non_public_addresses_are_refused_by_default(base_url: str, host: str) -> None:
    port = base_url.rsplit(":", 1)[1]
    allow = host.strip("[]")
    http = HttpCapability([allow])
    with pytest.raises(CapabilityRefused) as refused_:
        await http.get(f"http://{host}:{port}/hello")
    message = str(refused_.value)
    assert "private or reserved address" in message or "could not be resolved" in message, message


async def test_a_redirect_to_a_non_public_address_is_refused(base_url: str) -> None:
    # an allowed public-looking name that resolves to loopback (as a rebinding DNS would answer)
    http = HttpCapability(["localhost"])
    port = base_url.rsplit(":", 1)[1]
    with pytest.raises(CapabilityRefused, match="private or reserved"):
        await http.get(f"http://localhost:{port}/hello")


def test_public_address_classification() -> None:
    assert public_address("93.184.216.34") and public_address("2606:2800:220:1::1")
    for address in (
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1%eth0",
        "fc00::1",
        "::ffff:10.0.0.1",
        "255.255.255.255",
    ):
        assert not public_address(address), address


async def test_kv_writes_are_metered_per_run_and_per_window() -> None:
    kv = MemoryKV()
    run_cap = KVCapability(kv, "sandbox:ws1:run", max_run_bytes=100, max_window_bytes=200)
    await run_cap.set("a", "x" * 40)
    with pytest.raises(CapabilityRefused, match="at most 100 bytes"):
        await run_cap.set("b", "y" * 80)
    second = KVCapability(kv, "sandbox:ws1:run", max_run_bytes=1000, max_window_bytes=200)
    await second.set("c", "z" * 100)
    with pytest.raises(CapabilityRefused, match="try again later"):
        await second.set("d", "w" * 100)
    other = KVCapability(kv, "sandbox:ws2:run", max_run_bytes=1000, max_window_bytes=200)
    await other.set("d", "w" * 100)  # another workspace's window is its own
