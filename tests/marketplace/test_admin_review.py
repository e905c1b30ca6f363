"""The admin's review through the API, end to end, with its audit rows.

Root is a platform admin; Alice submits. Every action is checked for its answer, its refusals (404
on a missing id, 409 with the current state on an illegal transition, 422 naming the field) and the
audit entry it leaves (platform-level: ``workspace_id`` empty).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from automatos.kernel.db import models as m
from tests.helpers import AppClient, container_of
from tests.marketplace.test_submissions import (
    ALICE,
    CLEAN,
    EVIL,
    ROOT,
    client,
    kernel_of,
    make_bundle,
    problem,
    upload,
)

__all__ = ["client"]  # the fixture, shared with test_submissions

ADMIN = "/api/admin/plugins"


async def audit(client: AppClient) -> list[tuple[str | None, str, str]]:
    async with kernel_of(client).store.sessionmaker() as session:
        rows = await session.scalars(
            select(m.AuditLogEntry)
            .where(m.AuditLogEntry.action.like("plugin.%"), m.AuditLogEntry.workspace_id.is_(None))
            .order_by(m.AuditLogEntry.created_at)
        )
        return [(row.actor_id, row.action, row.target_id) for row in rows]


async def scanned(client: AppClient, data: bytes, headers: dict[str, str] = ALICE) -> dict[str, Any]:
    made = await upload(client, data, headers)
    assert made.status_code == 201, made.text
    await container_of(client).marketplace().idle()
    body: dict[str, Any] = (await client.get(f"{ADMIN}/versions/{made.json()['id']}", headers=ROOT)).json()
    assert body["status"] == "scanned", body
    return body


async def test_the_review_end_to_end_with_audit_rows(client: AppClient) -> None:
    first = await scanned(client, make_bundle())
    vid = first["id"]
    queue = (await client.get(f"{ADMIN}/versions", params={"status": "scanned"}, headers=ROOT)).json()
    assert [item["id"] for item in queue["items"]] == [vid]
    files = (await client.get(f"{ADMIN}/versions/{vid}/files", headers=ROOT)).json()
    assert {f["path"] for f in files["items"]} == {"plugin.toml", "hello_tools.py"}
    source = (await client.get(f"{ADMIN}/versions/{vid}/files/hello_tools.py", headers=ROOT)).json()
    assert source["binary"] is False and source["lines"][0].endswith('"""A plugin that registers one tool."""')
    assert source["lines"][0].lstrip().startswith("1  ")
    assert problem(await client.get(f"{ADMIN}/versions/{vid}/files/nope.py", headers=ROOT), 404)["field"] == "path"
    # approve: bound to the sha256, permissions narrowed to a subset of the declared ones
    wrong = await client.post(f"{ADMIN}/versions/{vid}/approve", json={"sha256": "0" * 64}, headers=ROOT)
    assert problem(wrong, 409)["field"] == "sha256"
    too_much = await client.post(
        f"{ADMIN}/versions/{vid}/approve",
        json={"sha256": first["sha256"], "granted_permissions": {"network": ["evil.example.com"]}},
        headers=ROOT,
    )
    assert problem(too_much, 422)["field"] == "granted_permissions.network"
    approved = await client.post(
        f"{ADMIN}/versions/{vid}/approve",
        json={"sha256": first["sha256"], "granted_permissions": {"network": ["api.example.com"]}},
        headers=ROOT,
    )
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["status"] == "approved" and body["approved_by"] == "root"
    assert body["granted_permissions"] == {"network": ["api.example.com"]}
    again = await client.post(f"{ADMIN}/versions/{vid}/approve", json={"sha256": first["sha256"]}, headers=ROOT)
    assert problem(again, 409)["current_status"] == "approved"
    plugin = (await client.get(f"{ADMIN}/hello-tools", headers=ROOT)).json()
    assert plugin["latest_version"] == "1.0.0"
    # a second version: diff against the approved one, then reject it
    second = await scanned(client, make_bundle(version="1.1.0", code=CLEAN + "\n\ndef extra() -> int:\n    return 1\n"))
    diff = (await client.get(f"{ADMIN}/versions/{second['id']}/diff", headers=ROOT)).json()
    assert diff["base_version"] == "1.0.0" and diff["added"] == [] and diff["removed"] == []
    (changed,) = [d for d in diff["changed"] if d["path"] == "hello_tools.py"]
    assert "+def extra() -> int:" in changed["diff"]
    no_reason = await client.post(f"{ADMIN}/versions/{second['id']}/reject", json={"reason": ""}, headers=ROOT)
    assert no_reason.status_code in (400, 422)
    rejected = await client.post(
        f"{ADMIN}/versions/{second['id']}/reject", json={"reason": "does too much"}, headers=ROOT
    )
    assert rejected.json()["status"] == "rejected" and rejected.json()["rejected_reason"] == "does too much"
    # deactivate: the kill switch, audited; twice is a 409
    off = await client.post(f"{ADMIN}/hello-tools/deactivate", json={"reason": "incident 42"}, headers=ROOT)
    assert off.json()["status"] == "deactivated"
    assert problem(await client.post(f"{ADMIN}/hello-tools/deactivate", json={"reason": "x"}, headers=ROOT), 409)
    assert (await client.post(f"{ADMIN}/hello-tools/activate", headers=ROOT)).json()["status"] == "active"
    actions = [(actor, action) for actor, action, _ in await audit(client)]
    for expected in [
        ("alice", "plugin.submitted"),
        (None, "plugin.scanned"),
        ("root", "plugin.approved"),
        ("root", "plugin.rejected"),
        ("root", "plugin.deactivated"),
        ("root", "plugin.activated"),
    ]:
        assert expected in actions, actions


async def test_a_blocked_version_needs_override_and_a_reason(client: AppClient) -> None:
    evil = await scanned(client, make_bundle("Evil Tools", code=EVIL))
    assert evil["verdict"] == "blocked"
    url = f"{ADMIN}/versions/{evil['id']}/approve"
    plain = await client.post(url, json={"sha256": evil["sha256"]}, headers=ROOT)
    assert problem(plain, 422)["field"] == "override"
    no_reason = await client.post(url, json={"sha256": evil["sha256"], "override": True}, headers=ROOT)
    assert problem(no_reason, 422)["field"] == "reason"
    forced = await client.post(
        url, json={"sha256": evil["sha256"], "override": True, "reason": "a red-team fixture"}, headers=ROOT
    )
    assert forced.status_code == 200 and forced.json()["override"] is True
    audited = [(actor, action) for actor, action, target in await audit(client) if target == evil["id"]]
    assert ("root", "plugin.approved") in audited


async def test_rescan_replaces_findings_and_withdraws_an_approval(client: AppClient) -> None:
    version = await scanned(client, make_bundle())
    vid = version["id"]
    await client.post(f"{ADMIN}/versions/{vid}/approve", json={"sha256": version["sha256"]}, headers=ROOT)
    queued = await client.post(f"{ADMIN}/versions/{vid}/rescan", headers=ROOT)
    assert queued.status_code == 202 and queued.json()["status"] == "pending"
    assert queued.json()["approved_by"] is None
    assert problem(await client.post(f"{ADMIN}/versions/{vid}/rescan", headers=ROOT), 409)["current_status"] in (
        "pending",
        "scanning",
    )
    await container_of(client).marketplace().idle()
    after = (await client.get(f"{ADMIN}/versions/{vid}", headers=ROOT)).json()
    assert after["status"] == "scanned" and after["verdict"] == version["verdict"]
    assert after["findings"] == version["findings"]  # replaced, not appended
    plugin = (await client.get(f"{ADMIN}/hello-tools", headers=ROOT)).json()
    assert plugin["latest_version"] is None
    actions = [action for _, action, target in await audit(client) if target == vid]
    assert actions.count("plugin.scanned") == 2 and "plugin.rescan" in actions


async def test_admin_routes_are_for_platform_admins_and_missing_ids_are_404(client: AppClient) -> None:
    for method, path in [
        ("GET", f"{ADMIN}/versions"),
        ("GET", f"{ADMIN}"),
        ("POST", f"{ADMIN}/versions/x/rescan"),
        ("POST", f"{ADMIN}/x/activate"),
    ]:
        assert (await client.request(method, path, headers=ALICE)).status_code == 403
    missing = "00000000-0000-0000-0000-000000000000"
    assert problem(await client.get(f"{ADMIN}/versions/{missing}", headers=ROOT), 404)["field"] == "id"
    approve = await client.post(f"{ADMIN}/versions/{missing}/approve", json={"sha256": "a" * 64}, headers=ROOT)
    assert problem(approve, 404)["field"] == "id"
    assert problem(await client.post(f"{ADMIN}/nope/deactivate", json={"reason": "r"}, headers=ROOT), 404)
    as_admin = await upload(client, make_bundle("Admin Tools"), ROOT, url=ADMIN)
    assert as_admin.status_code == 201 and as_admin.json()["submitted_by"] == "root"
    assert (await upload(client, make_bundle("Other Tools"), ALICE, url=ADMIN)).status_code == 403
    await container_of(client).marketplace().idle()


UNDECLARED_HOST = """\
import httpx


def register(ctx):
    ctx.tool("ping", lambda: httpx.get("https://telemetry.elsewhere.invalid/ping").status_code)
"""


async def test_the_platform_thresholds_decide_the_marketplace_verdict(client: AppClient) -> None:
    review = await scanned(client, make_bundle("Pinger", "1.0.0", UNDECLARED_HOST))
    assert review["verdict"] == "review" and 20 <= review["risk_score"] < 70, review  # the defaults: 20 and 70
    changed = await client.put(
        "/api/platform-settings/marketplace.block_risk_threshold", json={"value": review["risk_score"]}, headers=ROOT
    )
    assert changed.status_code == 200, changed.text
    container_of(client).settings_registry().forget()  # an admin's change otherwise arrives within a minute
    stricter = await scanned(client, make_bundle("Pinger", "1.0.1", UNDECLARED_HOST))
    assert stricter["risk_score"] == review["risk_score"] and stricter["verdict"] == "blocked", stricter
