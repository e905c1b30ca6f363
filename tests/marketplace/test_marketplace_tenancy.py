"""Marketplace tables are platform-level, but a submission is its submitter's: nobody else reads it.

Bob submits; Alice and Alice's API key (a workspace-bound principal, acting as Alice) cannot read, list or
act on it: 404 on its id (not 403: its existence is not told), 403 on every admin route, and no
answer carries anything of Bob's.
"""

from __future__ import annotations

from tests.helpers import AppClient, container_of
from tests.marketplace.test_submissions import ALICE, BOB, ROOT, URL, client, make_bundle, problem, upload

__all__ = ["client"]  # the fixture, shared with test_submissions


async def test_another_principal_reaches_nothing_of_a_submission(client: AppClient) -> None:
    bobs = (await upload(client, make_bundle("Bob Secret Tools"), BOB)).json()
    workspace = (await client.post("/api/workspaces", json={"slug": "alpha", "name": "A"}, headers=ALICE)).json()
    key = await client.post(
        "/api/api-keys", json={"name": "k", "role": "owner"}, headers={**ALICE, "X-Workspace-ID": workspace["id"]}
    )
    assert key.status_code == 201, key.text
    callers = [ALICE, {"Authorization": f"Bearer {key.json()['key']}"}]
    for headers in callers:
        assert problem(await client.get(f"{URL}/{bobs['id']}", headers=headers), 404)["field"] == "id"
        listed = await client.get(URL, headers=headers)
        assert listed.status_code == 200 and listed.json()["total"] == 0
        for method, path in [
            ("GET", f"/api/admin/plugins/versions/{bobs['id']}"),
            ("GET", f"/api/admin/plugins/versions/{bobs['id']}/files"),
            ("GET", f"/api/admin/plugins/versions/{bobs['id']}/files/plugin.toml"),
            ("GET", f"/api/admin/plugins/versions/{bobs['id']}/diff"),
            ("POST", f"/api/admin/plugins/versions/{bobs['id']}/rescan"),
            ("GET", "/api/admin/plugins/versions"),
            ("GET", "/api/admin/plugins/bob-secret-tools"),
        ]:
            answer = await client.request(method, path, headers=headers)
            assert answer.status_code == 403, (path, answer.text)
            assert "Bob Secret" not in answer.text and bobs["sha256"] not in answer.text
    # a key acts as the user who made it: its submission is Alice's, and still not Bob's business
    by_key = await upload(client, make_bundle("Key Tools"), callers[1])
    assert by_key.status_code == 201, by_key.text
    assert by_key.json()["submitted_by"] == "alice"
    assert (await client.get(f"{URL}/{by_key.json()['id']}", headers=ALICE)).status_code == 200
    assert problem(await client.get(f"{URL}/{by_key.json()['id']}", headers=BOB), 404)
    assert (await client.get(f"{URL}/{bobs['id']}", headers=ROOT)).json()["slug"] == "bob-secret-tools"
    await container_of(client).marketplace().idle()
