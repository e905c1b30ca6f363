"""The example marketplace plugin (examples/marketplace-hello), end to end as its README says.

The CLI scans it ``safe``; signed with a publisher key the deployment trusts, packaged, uploaded
by a developer to a deployment that requires signatures, scanned in the background and approved
by a platform admin — bound to the sha256 the CLI printed. The same bundle unsigned is refused.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from automatos.api.app import create_app
from automatos.kernel.db import models as m
from automatos.marketplace.bundle import package_directory
from automatos.marketplace.signing import generate_key, sign_files
from tests.helpers import AppClient, container_of, make_container, serve_app
from tests.marketplace.test_submissions import ALICE, ROOT, problem, upload

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "marketplace-hello"
ADMIN = "/api/admin/plugins"


def test_the_cli_scans_the_example_safe() -> None:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "automatos"), "plugin", "scan", str(EXAMPLE), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)  # stdout is exactly one JSON object
    assert report["verdict"] == "safe", report
    assert not [f for f in report["findings"] if f["severity"] in ("high", "critical")]


@pytest.fixture
def publisher() -> tuple[bytes, str]:
    return generate_key()


@pytest.fixture
async def signing_client(tmp_path: Path, publisher: tuple[bytes, str]) -> AsyncIterator[AppClient]:
    container = make_container(
        tmp_path,
        rate_limit_default="100000/minute",
        plugins_require_signature=True,
        plugins_trusted_keys=(publisher[1],),
    )
    app = create_app(container)
    async with serve_app(app) as test_client:
        async with app.state["kernel"].store.sessionmaker.begin() as session:
            session.add(m.User(id="root", email="root@example.com", display_name="root", is_platform_admin=True))
            session.add(m.User(id="alice", email="alice@example.com", display_name="alice"))
        yield test_client


async def test_signed_uploaded_scanned_and_approved(
    signing_client: AppClient, publisher: tuple[bytes, str], tmp_path: Path
) -> None:
    tree = tmp_path / "hello-text"
    shutil.copytree(EXAMPLE, tree)
    unsigned = package_directory(tree)
    refused = await upload(signing_client, unsigned, ALICE)
    assert "unsigned" in problem(refused, 422)["detail"]

    files = {p.relative_to(tree).as_posix(): p.read_bytes() for p in tree.rglob("*") if p.is_file()}
    (tree / "SIGNATURE").write_bytes(sign_files(files, publisher[0]))
    bundle = package_directory(tree)
    made = await upload(signing_client, bundle, ALICE)
    assert made.status_code == 201, made.text
    await container_of(signing_client).marketplace().idle()
    version = (await signing_client.get(f"{ADMIN}/versions/{made.json()['id']}", headers=ROOT)).json()
    assert version["status"] == "scanned" and version["verdict"] == "safe", version
    assert not [f for f in version["findings"] if f["rule"] == "signature"]  # valid and trusted
    approved = await signing_client.post(
        f"{ADMIN}/versions/{version['id']}/approve", json={"sha256": version["sha256"]}, headers=ROOT
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
