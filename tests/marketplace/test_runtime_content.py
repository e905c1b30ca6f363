"""Plugins' skills and prompts through the KV cache: the hit path, TTL, and failing open when KV is down."""

from __future__ import annotations

import pytest

from automatos.kernel.core import Kernel
from automatos.marketplace.runtime.content import CONTENT_TTL, content_key
from tests.helpers import AppClient
from tests.marketplace.test_runtime_enable import PROVIDES, approved, client, enable, view_proxies, workspaces
from tests.marketplace.test_submissions import ALICE

__all__ = ["client"]


async def test_content_is_served_from_the_kv_cache_and_fails_open(
    client: AppClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    submitted = await approved(client, extra=PROVIDES)
    a, _ = await workspaces(client)
    assert (await enable(client, a, ALICE, slug="hello-tools")).status_code == 201
    proxy = (await view_proxies(client, a))["plugin:hello-tools"]
    host = proxy.host
    kernel: Kernel = client.app.state["kernel"]
    first = await proxy.content(a)
    assert host.contents.misses == 1 and host.contents.hits == 0
    key = content_key(submitted["sha256"], "skills/hello.md")
    assert await kernel.backends.kv.get(key) == b"# Hello skill\nSay hello politely.\n"
    ttl = await kernel.backends.kv.ttl(key)
    assert ttl is not None and 0 < ttl <= CONTENT_TTL
    # a hit reads nothing of the blob store: with the bundle gone, the content still comes
    blob_key = f"plugins/hello-tools/1.0.0/{submitted['sha256']}.zip"
    saved = await kernel.backends.blob.get(blob_key)
    assert saved is not None and await kernel.backends.blob.delete(blob_key)
    again = await proxy.content(a)
    assert again == first and host.contents.hits == 1
    await kernel.backends.blob.put(blob_key, saved)

    # the KV backend down: the blob store answers (fails open), and it is said once
    async def down(*args: object, **kwargs: object) -> None:
        raise ConnectionError("kv is down")

    monkeypatch.setattr(kernel.backends.kv, "get", down)
    monkeypatch.setattr(kernel.backends.kv, "set", down)
    assert await proxy.content(a) == first
    assert host.contents.kv_failing
    monkeypatch.undo()
    assert await proxy.content(a) == first and not host.contents.kv_failing
