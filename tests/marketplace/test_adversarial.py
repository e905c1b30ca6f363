"""Adversarial cases against the marketplace's upload and review routes: malformed bodies, hostile
archives and manifests, races, faults (database, blob storage, the scan process killed).

Every refusal must be an ``application/problem+json`` naming its field (never a 500), and a refused
upload must leave no blob and no row. Root is a platform admin; Alice and Bob are developers.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import os
import signal
import struct
import tarfile
import zipfile
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from automatos.kernel.db import models as m
from automatos.marketplace.models import MarketplacePlugin
from tests.helpers import AppClient, container_of
from tests.marketplace.test_submissions import (
    ALICE,
    BOB,
    EVIL,
    ROOT,
    URL,
    client,
    kernel_of,
    make_bundle,
    problem,
    stored,
    upload,
)

__all__ = ["client"]  # the fixture, shared with test_submissions

ADMIN = "/api/admin/plugins"
MULTIPART = "multipart/form-data; boundary=b"
BASE = 'name = "odd"\nversion = "1.0.0"\nentry = "x"\n'


def zip_of(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return out.getvalue()


def with_manifest(toml: str | bytes, **files: bytes) -> bytes:
    manifest = toml.encode() if isinstance(toml, str) else toml
    return zip_of({"plugin.toml": manifest, "x.py": b"def register(ctx):\n    pass\n", **files})


def part(data: bytes, *, name: str = "bundle", filename: bytes = b"p.zip", headers: bytes = b"") -> bytes:
    head = b'--b\r\nContent-Disposition: form-data; name="' + name.encode() + b'"; filename="' + filename + b'"\r\n'
    return head + headers + b"\r\n" + data + b"\r\n"


async def post_raw(client: AppClient, body: bytes, *, url: str = URL, headers: dict[str, str] = ALICE) -> Any:
    return await client.post(url, content=body, headers={**headers, "content-type": MULTIPART})


async def nothing_stored(client: AppClient) -> None:
    assert await stored(client) == (0, [])
    async with kernel_of(client).store.sessionmaker() as session:
        assert int(await session.scalar(select(func.count()).select_from(MarketplacePlugin)) or 0) == 0


# --- the body ----------------------------------------------------------------------------------------


async def test_malformed_bodies_are_422_naming_the_bundle_field(client: AppClient) -> None:
    bundle = make_bundle()
    cases = [
        await client.post(URL, headers=ALICE),
        await client.post(URL, headers={**ALICE, "content-type": "multipart/form-data"}),  # no boundary
        await client.post(URL, json={"bundle": "x"}, headers=ALICE),
        await client.post(URL, data={"bundle": "x"}, headers=ALICE),
        await upload(client, b"", ALICE),  # an empty part
        await post_raw(client, part(bundle) + part(make_bundle(version="9.9.9")) + b"--b--\r\n"),  # two bundles
        await post_raw(client, part(bundle, headers=b"X-Junk: " + b"a" * 200_000 + b"\r\n") + b"--b--\r\n"),
        await post_raw(client, part(bundle, filename=b"a" * 10_000) + b"--b--\r\n"),  # a huge part header
        await post_raw(client, part(bundle)[:150]),  # ends inside the part
        await post_raw(client, part(b"x", name="other") + b"--b--\r\n"),  # no field 'bundle'
        await post_raw(client, b"garbage with no boundary at all"),
    ]
    for response in cases:
        assert problem(response, 422)["field"] == "bundle", response.text
    await nothing_stored(client)


async def test_the_part_filename_is_never_used(client: AppClient) -> None:
    names = [b"a\x00b.zip", b"../../etc/passwd", "ünï©ødé\u202e.zip".encode()]
    bundle = make_bundle()  # once: a zip's bytes hold the time it was made
    answers = [await post_raw(client, part(bundle, filename=name) + b"--b--\r\n") for name in names]
    assert [a.status_code for a in answers] == [201, 200, 200], [a.text for a in answers]
    sha = answers[0].json()["sha256"]
    assert (await stored(client))[1] == [f"plugins/hello-tools/1.0.0/{sha}.zip"]
    await container_of(client).marketplace().idle()


async def test_a_large_part_under_another_name_is_capped_too(client: AppClient) -> None:
    limit = 10 * 1024 * 1024
    received = 0

    async def body() -> Any:
        nonlocal received
        yield b'--b\r\nContent-Disposition: form-data; name="junk"\r\n\r\n'
        chunk = b"\0" * 65536
        while received < 60 * 1024 * 1024:
            received += len(chunk)
            yield chunk

    answer = await client.post(URL, content=body(), headers={**ALICE, "content-type": MULTIPART})
    found = problem(answer, 422)
    assert found["rule"] == "archive.compressed-size" and found["limit"] == limit
    assert received < limit + 2 * 1024 * 1024  # reading stopped soon after the cap
    raw = [(b"x-test-user", b"alice"), (b"content-type", MULTIPART.encode()), (b"content-length", b"\xb2")]
    nonsense = await client.post(URL, content=b"x", headers=raw)  # a Unicode digit as the length
    assert nonsense.status_code < 500
    await nothing_stored(client)


# --- hostile archives --------------------------------------------------------------------------------


def _tar() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        info = tarfile.TarInfo("plugin.toml")
        info.size = len(BASE)
        archive.addfile(info, io.BytesIO(BASE.encode()))
    return out.getvalue()


def _overlapping() -> bytes:
    """A second central-directory entry pointing at the first file's local header under another name."""
    raw = zip_of({"plugin.toml": BASE.encode(), "x.py": b"def register(ctx): pass\n"}, zipfile.ZIP_STORED)
    end = raw.rfind(b"PK\x05\x06")
    count, size, offset = struct.unpack("<HII", raw[end + 10 : end + 20])
    directory = raw[offset : offset + size]
    second = directory.find(b"PK\x01\x02", 4)
    entry = bytearray(directory[second:])
    entry[46:50] = b"y.py"
    directory += bytes(entry)
    return (
        raw[:offset]
        + directory
        + b"PK\x05\x06"
        + struct.pack("<HHHHIIH", 0, 0, count + 1, count + 1, len(directory), offset, 0)
    )


def _lying_sizes() -> bytes:
    """The central directory says 10 bytes for a 3 MB file."""
    raw = bytearray(with_manifest(BASE, **{"big.txt": b"a" * 3_000_000}))
    header = raw.rfind(b"PK\x01\x02", 0, raw.rfind(b"big.txt"))
    raw[header + 24 : header + 28] = struct.pack("<I", 10)
    return bytes(raw)


def _many_entries(count: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for index in range(count):
            archive.writestr(f"f{index}", b"")
    return out.getvalue()


async def test_hostile_archives_are_refused_naming_the_rule(client: AppClient) -> None:
    bundle = make_bundle()
    cases: list[tuple[bytes, str]] = [
        (_tar(), "archive.corrupt"),
        (gzip.compress(bundle), "archive.corrupt"),
        (bundle[: len(bundle) // 2], "archive.corrupt"),
        (zip_of({}), "bundle.manifest"),
        (b"PK\x05\x06" + b"\0" * 16 + struct.pack("<H", 5) + b"hello", "bundle.manifest"),  # a comment only
        (b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 1, 1, 46, 10**9, 0), "archive.corrupt"),  # past EOF
        (_many_entries(100_000), "archive.file-count"),
        (with_manifest(BASE, **{"z.bin": b"\0" * 40_000_000}), "archive.file-size"),  # a bomb
        (with_manifest(BASE, **{f"z{i}.txt": b"\0" * 3_000_000 for i in range(4)}), "archive.ratio"),
        (_overlapping(), "archive.corrupt"),
        (_lying_sizes(), "archive.corrupt"),
    ]
    for data, rule in cases:
        found = problem(await upload(client, data, ALICE), 422)
        assert found["field"] == "bundle" and found["rule"] == rule, (rule, found)
    await nothing_stored(client)


async def test_a_nested_archive_is_stored_and_blocked_never_opened(client: AppClient) -> None:
    inner = zip_of({"bomb.txt": b"\0" * 4_000_000})
    made = await upload(client, with_manifest(BASE, **{"inner.zip": inner}), ALICE)
    assert made.status_code == 201, made.text
    await container_of(client).marketplace().idle()
    seen = (await client.get(f"{URL}/{made.json()['id']}", headers=ALICE)).json()
    assert seen["verdict"] == "blocked" and "nested-archive" in {f["rule"] for f in seen["findings"]}


# --- odd manifests -----------------------------------------------------------------------------------


async def test_odd_toml_is_422_naming_the_field_never_500(client: AppClient) -> None:
    cases: list[tuple[str | bytes, str]] = [
        (BASE + "z = " + "{a=" * 5000 + "1" + "}" * 5000 + "\n", "manifest"),  # deep inline tables
        (BASE + "z = " + "[" * 100_000 + "]" * 100_000 + "\n", "manifest"),  # deep arrays
        (BASE + "description = " + "9" * 5000 + "\n", "manifest"),  # past the int-string limit
        (BASE.replace('"odd"', '"' + "a" * 1_000_000 + '"'), "name"),  # a 1 MB string
        (BASE + "description = 1979-05-27T07:32:00Z\n", "description"),  # a date
        (BASE + 'description = "a\x00b"\n', "manifest"),  # a raw NUL
        (BASE + 'description = "a\\u0000b"\n', "description"),  # an escaped NUL: PostgreSQL cannot store it
        (BASE + 'author = "a\\u001bb"\n', "author"),  # an escape character
        (BASE + 'name = "again"\n', "manifest"),  # a duplicate key
        (BASE.encode() + b'description = "\xff\xfe"\n', "manifest"),  # not UTF-8
        (BASE.replace("1.0.0", ""), "version"),
        (BASE.replace("1.0.0", "1." + "9" * 500), "version"),
        (BASE.replace("1.0.0", "1.0.0+local"), "version"),
        (BASE.replace('"odd"', '"' + "n" * 101 + '"'), "name"),
        (BASE.replace('"odd"', '"!!!"'), "name"),
        (BASE + 'slug = "' + "s" * 65 + '"\n', "slug"),
        (BASE + 'slug = "-odd"\n', "slug"),
        (BASE + "[permissions]\nnetwork = [" + ", ".join(['"a.example.com"'] * 51) + "]\n", "permissions.network"),
        (BASE + "unknown = 1\n", "unknown"),
    ]
    for toml, field in cases:
        found = problem(await upload(client, with_manifest(toml), ALICE), 422)
        assert found["field"] == field, (field, found)
        assert "plugin.toml line" in found["detail"]
    await nothing_stored(client)


async def test_manifests_at_their_bounds_and_a_bom_or_crlf_are_accepted(client: AppClient) -> None:
    slug = "s" * 64
    accepted = [
        BASE.replace('"odd"', '"' + "n" * 100 + '"').replace("1.0.0", "1.0.1"),
        BASE + f'slug = "{slug}"\n',
        "\ufeff" + BASE.replace('"odd"', '"bom"'),
        BASE.replace('"odd"', '"crlf"').replace("\n", "\r\n"),
    ]
    for toml in accepted:
        made = await upload(client, with_manifest(toml), ALICE)
        assert made.status_code == 201, made.text
    await container_of(client).marketplace().idle()


# --- concurrency -------------------------------------------------------------------------------------


async def test_the_same_version_uploaded_twenty_times_at_once_is_stored_once(client: AppClient) -> None:
    same = make_bundle()
    answers = await asyncio.gather(*[upload(client, same, ALICE) for _ in range(20)])
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] * 19 + [201], [a.text for a in answers if a.status_code >= 300]
    assert len({a.json()["id"] for a in answers}) == 1
    other = [make_bundle(version="2.0.0", files={"n.txt": str(i).encode()}) for i in range(20)]
    answers = await asyncio.gather(*[upload(client, data, ALICE) for data in other])
    assert sorted(a.status_code for a in answers) == [201] + [409] * 19
    for conflict in (a for a in answers if a.status_code == 409):
        assert problem(conflict, 409)["field"] == "version"
    count, blobs = await stored(client)
    assert count == 2 and len(blobs) == 2  # the losers' blobs are gone, the winners' are there
    await container_of(client).marketplace().idle()


async def test_a_refused_concurrent_identical_upload_never_deletes_the_winners_blob(client: AppClient) -> None:
    same = make_bundle("New One")
    answers = await asyncio.gather(*[upload(client, same, ALICE if i % 2 else BOB) for i in range(10)])
    created = [a for a in answers if a.status_code == 201]
    assert len(created) == 1
    owner = created[0].json()["submitted_by"]
    for answer in answers:
        mine = answer.request.headers["x-test-user"] == owner
        assert answer.status_code in ((200, 201) if mine else (403,)), answer.text
    count, blobs = await stored(client)
    assert count == 1 and blobs == [f"plugins/new-one/1.0.0/{created[0].json()['sha256']}.zip"]
    await container_of(client).marketplace().idle()
    seen = (await client.get(f"{URL}/{created[0].json()['id']}", headers=ROOT)).json()
    assert seen["status"] == "scanned", seen  # its bundle was there to scan


async def test_review_decisions_race_one_winner_each(client: AppClient) -> None:
    made = (await upload(client, make_bundle(), ALICE)).json()
    await container_of(client).marketplace().idle()
    url = f"{ADMIN}/versions/{made['id']}"
    approvals = await asyncio.gather(
        *[client.post(f"{url}/approve", json={"sha256": made["sha256"]}, headers=ROOT) for _ in range(5)]
    )
    assert sorted(a.status_code for a in approvals) == [200] + [409] * 4
    switches = await asyncio.gather(
        *[client.post(f"{ADMIN}/hello-tools/deactivate", json={"reason": "r"}, headers=ROOT) for _ in range(4)]
    )
    assert sorted(a.status_code for a in switches) == [200] + [409] * 3
    mixed = await asyncio.gather(
        *[client.post(f"{url}/rescan", headers=ROOT) for _ in range(3)],
        *[client.post(f"{url}/reject", json={"reason": "no"}, headers=ROOT) for _ in range(3)],
    )
    assert all(a.status_code in (200, 202, 409) for a in mixed), [a.text for a in mixed]
    await container_of(client).marketplace().idle()
    async with kernel_of(client).store.sessionmaker() as session:
        query = select(m.AuditLogEntry.action).where(m.AuditLogEntry.action.like("plugin.%"))
        actions = list(await session.scalars(query))
    assert actions.count("plugin.approved") == 1 and actions.count("plugin.deactivated") == 1
    final = (await client.get(url, headers=ROOT)).json()
    assert final["status"] in ("pending", "scanning", "scanned", "rejected")


# --- the admin's routes ------------------------------------------------------------------------------


def admin_routes(version: str, plugin: str) -> list[tuple[str, str, Any]]:
    return [
        ("GET", ADMIN, None),
        ("GET", f"{ADMIN}/versions", None),
        ("GET", f"{ADMIN}/versions/{version}", None),
        ("GET", f"{ADMIN}/versions/{version}/files", None),
        ("GET", f"{ADMIN}/versions/{version}/files/plugin.toml", None),
        ("GET", f"{ADMIN}/versions/{version}/diff", None),
        ("POST", f"{ADMIN}/versions/{version}/approve", {"sha256": "a" * 64}),
        ("POST", f"{ADMIN}/versions/{version}/reject", {"reason": "r"}),
        ("POST", f"{ADMIN}/versions/{version}/rescan", None),
        ("GET", f"{ADMIN}/{plugin}", None),
        ("POST", f"{ADMIN}/{plugin}/deactivate", {"reason": "r"}),
        ("POST", f"{ADMIN}/{plugin}/activate", None),
        ("POST", ADMIN, None),
    ]


async def test_bad_ids_are_404_naming_the_field(client: AppClient) -> None:
    for bad in ["x", "a" * 10_000, "üñï", "00000000-0000-0000-0000-000000000000", "%00", "1;DROP TABLE x", "%E2%80%AE"]:
        for method, path, body in [*admin_routes(bad, bad)[2:-1], ("GET", f"{URL}/{bad}", None)]:
            answer = await client.request(method, path, json=body, headers=ROOT)
            found = problem(answer, 404)
            assert found.get("field") in ("id", "plugin"), (path[:80], found)


async def test_non_admins_and_anonymous_callers_are_refused_everywhere(client: AppClient) -> None:
    made = (await upload(client, make_bundle(), ALICE)).json()
    await container_of(client).marketplace().idle()
    for who, status in [(ALICE, 403), ({}, 401), ({"Authorization": "Bearer nope"}, 401)]:
        for method, path, body in admin_routes(made["id"], "hello-tools"):
            answer = await client.request(method, path, json=body, headers=who)
            assert answer.status_code == status, (who, method, path, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json")
    assert problem(await client.get(f"{URL}/{made['id']}", headers=BOB), 404)["field"] == "id"
    assert (await client.get(URL, headers=BOB)).json()["total"] == 0
    assert (await client.get(f"{URL}/{made['id']}")).status_code == 401


async def test_file_paths_of_a_version(client: AppClient) -> None:
    big = "\n".join(os.urandom(32).hex() for _ in range(60_000)).encode()  # ~4 MB of text
    binary = bytes(range(256)) * 100
    made = (
        await upload(client, make_bundle(files={"data.bin": binary, "big.txt": big, "pkg/mod.py": b"x = 1\n"}), ALICE)
    ).json()
    assert made.get("id"), made
    await container_of(client).marketplace().idle()
    files = f"{ADMIN}/versions/{made['id']}/files"
    for path in [
        "..%2Fplugin.toml",
        "%2e%2e/plugin.toml",
        "pkg",
        "pkg/",
        "missing.py",
        "a" * 5000,
        "%00",
        "PLUGIN.TOML",
    ]:
        assert problem(await client.get(f"{files}/{path}", headers=ROOT), 404)["field"] == "path", path
    text = (await client.get(f"{files}/big.txt", headers=ROOT)).json()
    assert text["binary"] is False and len(text["lines"]) == 60_000 and text["lines"][0].strip().startswith("1 ")
    described = (await client.get(f"{files}/data.bin", headers=ROOT)).json()
    assert described["binary"] is True and described["lines"] == [] and described["size"] == len(binary)
    for spelled in ["pkg/mod.py", "pkg%2Fmod.py", "/pkg/mod.py"]:
        answer = await client.get(f"{files}/{spelled}", headers=ROOT)
        assert answer.status_code == 200 and answer.json()["path"] == "pkg/mod.py", spelled


async def test_approve_refusals_name_their_field(client: AppClient) -> None:
    made = (await upload(client, make_bundle(), ALICE)).json()
    evil = (await upload(client, make_bundle("Evil Tools", code=EVIL), ALICE)).json()
    await container_of(client).marketplace().idle()
    url = f"{ADMIN}/versions/{made['id']}/approve"
    cases: list[tuple[Any, int, str]] = [
        ({"sha256": "0" * 64}, 409, "sha256"),
        ({"sha256": "zz"}, 422, "sha256"),
        (
            {"sha256": made["sha256"], "granted_permissions": {"network": ["evil.example"]}},
            422,
            "granted_permissions.network",
        ),
        ({"sha256": made["sha256"], "granted_permissions": {"rootkit": []}}, 422, "granted_permissions.rootkit"),
        ({"sha256": made["sha256"], "granted_permissions": ["x"]}, 422, "granted_permissions"),
        ({"sha256": made["sha256"], "surprise": 1}, 422, "surprise"),
    ]
    for body, status, field in cases:
        assert problem(await client.post(url, json=body, headers=ROOT), status)["field"] == field, body
    assert problem(await client.post(url, headers=ROOT), 422)["field"] == "body"
    blocked = f"{ADMIN}/versions/{evil['id']}/approve"
    assert (
        problem(await client.post(blocked, json={"sha256": evil["sha256"]}, headers=ROOT), 422)["field"] == "override"
    )
    no_reason = {"sha256": evil["sha256"], "override": True, "reason": "   "}
    assert problem(await client.post(blocked, json=no_reason, headers=ROOT), 422)["field"] == "reason"
    narrowed = {"sha256": made["sha256"], "granted_permissions": {"network": ["api.example.com"]}}
    approved = (await client.post(url, json=narrowed, headers=ROOT)).json()
    assert approved["status"] == "approved" and approved["granted_permissions"] == {"network": ["api.example.com"]}


# --- faults ------------------------------------------------------------------------------------------


async def test_the_database_down_during_an_upload_is_503_and_stores_nothing(
    client: AppClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    part_ = container_of(client).marketplace().submissions_part

    async def down(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("INSERT", {}, ConnectionRefusedError("the database is down"))

    monkeypatch.setattr(part_, "_insert", down)  # after the blob was written
    assert (await upload(client, make_bundle(), ALICE)).status_code == 503
    monkeypatch.setattr(part_, "_existing", down)  # before it
    assert (await upload(client, make_bundle(), ALICE)).status_code == 503
    monkeypatch.undo()
    await nothing_stored(client)


@pytest.mark.parametrize(
    "failure",
    [EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), OSError(28, "No space left on device")],
    ids=["s3-down", "disk-full"],
)
async def test_blob_storage_failing_is_503_and_stores_nothing(
    client: AppClient, monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    blob = kernel_of(client).backends.blob

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise failure

    monkeypatch.setattr(blob, "put", broken)
    found = problem(await upload(client, make_bundle(), ALICE), 503)
    assert "could not be stored" in found["detail"]
    monkeypatch.undo()
    await nothing_stored(client)


def die(*args: Any) -> Any:
    """Run in the scan process instead of the scan: SIGKILL itself, mid-scan."""
    os.kill(os.getpid(), signal.SIGKILL)


async def test_a_scan_process_killed_mid_scan_fails_the_scan_as_review(
    client: AppClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from automatos.marketplace import jobs

    service = container_of(client).marketplace()
    monkeypatch.setattr(jobs, "scan_in_child", die)
    made = (await upload(client, make_bundle(), ALICE)).json()
    await service.idle()
    seen = (await client.get(f"{URL}/{made['id']}", headers=ALICE)).json()
    assert seen["status"] == "failed" and seen["verdict"] == "review" and "died" in seen["scan_error"], seen
    assert seen["findings"] == []
    monkeypatch.undo()
    again = (await upload(client, make_bundle(version="2.0.0"), ALICE)).json()
    await service.idle()
    assert (await client.get(f"{URL}/{again['id']}", headers=ALICE)).json()["status"] == "scanned"


async def test_a_scan_process_killed_while_idle_is_replaced_for_the_next_scan(client: AppClient) -> None:
    service = container_of(client).marketplace()
    first = (await upload(client, make_bundle(), ALICE)).json()
    await service.idle()
    process = service.scans._process
    assert process is not None and len(process.pids()) == 1
    os.kill(process.pids()[0], signal.SIGKILL)
    for _ in range(10_000):  # until the kernel has reaped it (a condition, not a duration)
        if not process.alive():
            break
        await asyncio.sleep(0.01)
    made = (await upload(client, make_bundle(version="2.0.0"), ALICE)).json()
    await service.idle()
    for version in (first, made):
        seen = (await client.get(f"{URL}/{version['id']}", headers=ALICE)).json()
        assert seen["status"] == "scanned" and seen["verdict"] == "safe", seen


async def test_a_scan_that_cannot_read_its_bundle_is_failed_not_left_scanning(
    client: AppClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    blob = kernel_of(client).backends.blob

    async def down(*args: Any, **kwargs: Any) -> Any:
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")

    monkeypatch.setattr(blob, "get", down)
    made = (await upload(client, make_bundle(), ALICE)).json()
    await container_of(client).marketplace().idle()
    seen = (await client.get(f"{URL}/{made['id']}", headers=ALICE)).json()
    assert (
        seen["status"] == "failed" and seen["verdict"] == "review" and "EndpointConnectionError" in seen["scan_error"]
    )
