"""Downloads through pre-signed URLs stream the blob: bounded memory, Content-Length, byte ranges."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from automatos.api.app import create_app
from automatos.api.controllers.blobs import parse_range
from automatos.kernel.core import Kernel
from tests.helpers import AppClient, make_container, serve_app, serve_http

__all__: list[str] = []

PAYLOAD = bytes(range(256)) * 4  # 1,024 bytes


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[AppClient]:
    app = create_app(make_container(tmp_path))
    async with serve_app(app) as test_client:
        yield test_client


async def _url(client: AppClient, key: str = "files/data.bin", data: bytes = PAYLOAD) -> str:
    kernel: Kernel = client.app.state["kernel"]
    await kernel.backends.blob.put(key, data, content_type="application/x-test")
    return await kernel.backends.blob.presigned_url(key, expires_in=60)


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


async def test_a_download_carries_its_length_type_and_range_support(client: AppClient) -> None:
    response = await client.get(await _url(client))
    assert response.status_code == 200
    assert response.content == PAYLOAD
    assert response.headers["content-length"] == str(len(PAYLOAD))
    assert response.headers["content-type"] == "application/x-test"
    assert response.headers["accept-ranges"] == "bytes"
    assert "content-range" not in response.headers


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=0-9", 0, 9), ("bytes=1000-", 1000, 1023), ("bytes=-24", 1000, 1023), ("bytes=1020-99999", 1020, 1023)],
)
async def test_a_byte_range_is_answered_206(client: AppClient, header: str, start: int, end: int) -> None:
    response = await client.get(await _url(client), headers={"Range": header})
    assert response.status_code == 206
    assert response.content == PAYLOAD[start : end + 1]
    assert response.headers["content-range"] == f"bytes {start}-{end}/{len(PAYLOAD)}"
    assert response.headers["content-length"] == str(end - start + 1)


async def test_a_range_outside_the_blob_is_416_problem_json(client: AppClient) -> None:
    url = await _url(client)
    response = await client.get(url, headers={"Range": "bytes=5000-"})
    body = _problem(response, 416)
    assert body["field"] == "Range" and body["size"] == len(PAYLOAD)
    assert response.headers["content-range"] == f"bytes */{len(PAYLOAD)}"


@pytest.mark.parametrize(
    "headers",
    [
        {"Range": "bytes=0-1, 5-6"},
        {"Range": "items=0-1"},
        {"Range": "bytes=9-2"},
        {"Range": "bytes=-"},
        {"Range": "bytes=0-9", "If-Range": '"some-etag"'},
    ],
)
async def test_ranges_it_does_not_serve_get_the_whole_blob(client: AppClient, headers: dict[str, str]) -> None:
    response = await client.get(await _url(client), headers=headers)
    assert response.status_code == 200
    assert response.content == PAYLOAD


async def test_head_tells_size_and_type_without_the_body(client: AppClient) -> None:
    url = await _url(client)
    response = await client.head(url)
    assert response.status_code == 200 and response.content == b""
    assert response.headers["content-length"] == str(len(PAYLOAD))
    assert response.headers["content-type"] == "application/x-test"
    assert response.headers["accept-ranges"] == "bytes"
    kernel: Kernel = client.app.state["kernel"]
    missing = await kernel.backends.blob.presigned_url("not/there", expires_in=60)
    assert (await client.head(missing)).status_code == 404
    put_grant = await kernel.backends.blob.presigned_url("files/data.bin", expires_in=60, method="PUT")
    assert (await client.head(put_grant)).status_code == 403  # a PUT grant does not read


async def test_missing_blob_and_bad_signature(client: AppClient) -> None:
    kernel: Kernel = client.app.state["kernel"]
    url = await kernel.backends.blob.presigned_url("not/there", expires_in=60)
    assert _problem(await client.get(url), 404)["field"] == "key"
    good = await _url(client)
    assert _problem(await client.get(good.replace("signature=", "signature=0")), 403)["field"] == "signature"


def test_parse_range() -> None:
    assert parse_range("bytes=0-0") == (0, 0)
    assert parse_range(" bytes=7- ") == (7, None)
    assert parse_range("bytes=-7") == (None, 7)
    for ignored in (
        None,
        "",
        "bytes=",
        "bytes=-",
        "bytes=3-1",
        "bytes=1-2,4-5",
        "bytes=a-b",
        "bits=1-2",
        "bytes=" + "9" * 19 + "-",
    ):
        assert parse_range(ignored) is None, ignored


async def test_a_large_blob_is_served_with_bounded_memory(tmp_path: Path) -> None:
    """A 20 MB download through uvicorn allocates a small fraction of the blob (it used to load it whole)."""
    size = 20 * 1024 * 1024
    app = create_app(make_container(tmp_path))
    async with serve_http(app) as base:
        kernel: Kernel = app.state["kernel"]
        data = b"\x5a" * size
        await kernel.backends.blob.put("large/object.bin", data)
        del data
        url = await kernel.backends.blob.presigned_url("large/object.bin", expires_in=60)
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            gc.collect()
            tracemalloc.start()
            try:
                received = 0
                async with http.stream("GET", url) as response:
                    assert response.status_code == 200
                    assert response.headers["content-length"] == str(size)
                    async for chunk in response.aiter_raw():
                        assert chunk.count(0x5A) == len(chunk)
                        received += len(chunk)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    assert received == size
    # the whole process (server, client, event loop) allocated at most a tenth of the blob at once
    assert peak < size // 10, f"peak {peak} bytes while serving {size}"
