"""Issue 9's hot path and its small fixes: warm API-key checks without the HMAC, request ids from a
batch, OpenAI's ``error`` member on ``/v1`` 429s, archived workspaces named by ``X-Workspace-ID``."""

from __future__ import annotations

import math
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import openai
import pytest

from automatos.api import middleware
from automatos.api.app import create_app
from automatos.api.middleware import _new_request_id
from automatos.extensions.auth import api_keys
from automatos.extensions.auth.api_keys import ApiKeyAuth, create_key
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from automatos.kernel.errors import AuthenticationError
from tests.api.test_middleware import is_problem, kernel_of, pipeline_of, serving, user
from tests.helpers import make_container, running_kernel, serve_app

# -- API keys: a warm hit costs a SHA-256, not an HMAC ------------------------------------------------


async def test_a_warm_key_is_checked_without_the_hmac_and_never_kept_in_clear(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_kernel(tmp_path) as kernel:
        workspace = await kernel.store.get_workspace("default")
        assert workspace is not None
        _, key = await create_key(kernel, workspace.id, "ci")
        method = next(m for m in kernel.auth_methods if isinstance(m, ApiKeyAuth))
        cold: Any = method.verify(key)  # cold: a coroutine that reads the row and checks the HMAC
        first = await cold
        assert first is not None

        def no_hmac(pepper: bytes, key: str) -> str:
            raise AssertionError("a warm hit must not compute the HMAC")

        monkeypatch.setattr(api_keys, "hash_key", no_hmac)
        for _ in range(3):
            assert method.verify(key) == first  # synchronous: a Principal, not an awaitable
        wrong = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
        with pytest.raises(AuthenticationError, match="secret does not match"):
            method.verify(wrong)  # warm, same prefix, other secret
        entry = method._cache[key.split("_")[1]]
        secret = key.split("_", 2)[2]  # atk_<prefix>_<secret>: the secret may itself hold "_"
        assert key not in repr(entry) and secret not in repr(entry)
        assert key.encode() not in entry.verified and secret.encode() not in entry.verified


# -- request ids -------------------------------------------------------------------------------------


def test_request_ids_are_unique_uuid4s_across_batches_and_threads() -> None:
    got: list[list[str]] = [[] for _ in range(4)]

    def draw(into: list[str]) -> None:
        into.extend(_new_request_id() for _ in range(3 * middleware._ID_BATCH))

    threads = [threading.Thread(target=draw, args=(into,)) for into in got]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    ids = [i for into in got for i in into]
    assert len(ids) == 4 * 3 * middleware._ID_BATCH
    assert len(set(ids)) == len(ids)
    for value in ids:
        parsed = uuid.UUID(hex=value)
        assert parsed.hex == value and parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_a_forked_child_does_not_repeat_its_parents_request_ids() -> None:
    _new_request_id()  # the parent holds a batch with ids left in it
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report the next id and leave at once
        try:
            os.write(write, _new_request_id().encode())
        finally:
            os._exit(0)
    os.close(write)
    child_id = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert len(child_id) == 32
    assert child_id != _new_request_id()


# -- 429 on /v1 speaks OpenAI too ------------------------------------------------------------------


async def test_a_429_on_v1_carries_openais_error_member(tmp_path: Path) -> None:
    async with serving(tmp_path, rate_limit_default="2/minute") as client:
        caller = user()
        sdk = openai.AsyncOpenAI(
            api_key="unused",
            base_url=f"{str(client.base_url).rstrip('/')}/v1",
            http_client=client,  # type: ignore[arg-type]  # an httpx.AsyncClient bound to the app
            default_headers=caller,
            max_retries=0,
        )
        for _ in range(2):
            await client.get("/v1/models", headers=caller)
        with pytest.raises(openai.RateLimitError) as info:
            await sdk.models.list()
        assert "rate limit of 2 per 1 minute exceeded" in info.value.message
        raw = await client.get("/v1/models", headers=caller)
        body = is_problem(raw, 429)
        assert body["error"]["type"] == "rate_limit_error" and body["detail"] == body["error"]["message"]
        assert raw.headers["retry-after"] == str(body["retry_after"])
        # elsewhere the 429 stays plain problem+json
        for _ in range(3):
            elsewhere = await client.get("/api/echo", headers=caller)
        assert "error" not in is_problem(elsewhere, 429)


async def test_a_429_for_wrong_credentials_on_v1_carries_openais_error_member(tmp_path: Path) -> None:
    async with serving(tmp_path, rate_limit_default="1/minute") as client:
        assert (await client.get("/v1/models", headers={"X-Bad": "1"})).status_code == 401
        body = is_problem(await client.get("/v1/models", headers={"X-Bad": "1"}), 429)
        assert body["error"]["type"] == "rate_limit_error"


# -- X-Workspace-ID naming an archived workspace -----------------------------------------------------


async def test_x_workspace_id_naming_an_archived_workspace_says_so_and_how_to_restore(tmp_path: Path) -> None:
    app = create_app(make_container(tmp_path))
    async with serve_app(app) as client:
        kernel: Kernel = app.state["kernel"]
        async with kernel.store.sessionmaker.begin() as session:
            for name in ("alice", "carol"):
                session.add(m.User(id=name, email=f"{name}@example.com", display_name=name))
        created = await client.post(
            "/api/workspaces", json={"slug": "shelved", "name": "Shelved"}, headers={"X-Test-User": "alice"}
        )
        assert created.status_code == 201, created.text
        ws_id = created.json()["id"]
        assert (await client.delete(f"/api/workspaces/{ws_id}", headers={"X-Test-User": "alice"})).status_code == 204
        for ref in ("shelved", ws_id):
            answer = await client.get("/api/agents", headers={"X-Test-User": "alice", "X-Workspace-ID": ref})
            body = is_problem(answer, 404)
            assert body["field"] == "X-Workspace-ID"
            assert "is archived" in body["detail"] and f"POST /api/workspaces/{ws_id}/restore" in body["detail"]
            assert "does not exist" not in body["detail"]
        # a non-member is told nothing more than about a name that was never used
        outsider = is_problem(
            await client.get("/api/agents", headers={"X-Test-User": "carol", "X-Workspace-ID": "shelved"}), 404
        )
        assert "does not exist" in outsider["detail"] and ws_id not in outsider["detail"]
        never = is_problem(
            await client.get("/api/agents", headers={"X-Test-User": "alice", "X-Workspace-ID": "never-was"}), 404
        )
        assert never["detail"] == "workspace 'never-was' does not exist"
        # once restored, the same header resolves again
        assert (
            await client.post(f"/api/workspaces/{ws_id}/restore", headers={"X-Test-User": "alice"})
        ).status_code == 200
        again = await client.get("/api/agents", headers={"X-Test-User": "alice", "X-Workspace-ID": "shelved"})
        assert again.status_code == 200, again.text


# -- Redis: one round trip per rate-limit check -------------------------------------------------------


@pytest.mark.redis
async def test_a_redis_rate_limit_check_is_one_round_trip_and_counts_as_limits_does(
    tmp_path: Path, redis_url: str
) -> None:
    async with serving(tmp_path, redis_url=redis_url, rate_limit_default="5/minute") as client:
        pipeline = pipeline_of(client)
        limiter = pipeline.limiter
        assert pipeline._sliding_hit is not None
        connection = limiter.storage.bridge.get_connection()  # type: ignore[attr-defined]
        sent: list[str] = []
        original = connection.execute_command

        async def counting(*args: Any, **options: Any) -> Any:
            sent.append(str(args[0]).upper())
            return await original(*args, **options)

        connection.execute_command = counting
        ours, theirs = f"ours-{uuid.uuid4().hex}", f"theirs-{uuid.uuid4().hex}"
        item = pipeline.default_limit(kernel_of(client).settings)
        assert item is not None
        for _ in range(7):  # past the limit: the refusals must agree too
            sent.clear()
            pipeline._blocked.clear()  # ask the storage every time (no local block list)
            got = await pipeline.take(item, ours)
            assert sent in (["EVALSHA"], ["EVALSHA", "SCRIPT LOAD", "EVALSHA"], ["EVALSHA", "SCRIPT", "EVALSHA"])
            # the same hit through limits' own two calls, on another client's key
            allowed = await limiter.hit(item, theirs)
            stats = await limiter.get_window_stats(item, theirs)
            assert got is not None
            assert (got[0], got[1]) == (allowed, stats.remaining)
            # reset: limits' own formula on the same TTLs (read a round trip later, it can land exactly on a
            # period boundary and say 0 s for a fresh window; ours counts that as the whole window)
            assert 1 <= got[2] <= 60 and 1 <= max(1, math.ceil(stats.reset_time - time.time())) <= 60
        # and through HTTP: the headers count down and the refusal says when to retry
        caller = user()
        answers = [await client.get("/api/echo", headers=caller) for _ in range(6)]
        assert [r.status_code for r in answers] == [200] * 5 + [429]
        assert [int(r.headers["ratelimit-remaining"]) for r in answers] == [4, 3, 2, 1, 0, 0]
        assert 1 <= int(answers[-1].headers["retry-after"]) <= 60


def test_a_fresh_windows_reset_is_the_whole_window_not_now() -> None:
    item = middleware._parse_limit("5/minute")
    assert item is not None
    # read in the script that has just set the key: the TTL is exactly two windows
    reset_time, remaining = middleware._sliding_stats(item, [1, None, -2, b"1", 120_000], 1000.0)
    assert (reset_time, remaining) == (1060.0, 4)
    # half a window later, with 3 hits in the previous window: the next of them leaves in 20 s steps
    reset_time, remaining = middleware._sliding_stats(item, [1, b"3", 30_000, b"1", 90_000], 1000.0)
    assert remaining == 5 - math.floor(3 * 30 / 60 + 1) and reset_time == 1010.0
