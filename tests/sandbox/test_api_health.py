"""``/health/ready`` reports the sandbox to platform admins: pool size, live workers, root or not."""

from __future__ import annotations

from pathlib import Path

from automatos.api.app import create_app
from tests.helpers import make_container, serve_app

ADMIN = {"X-Test-User": "root;admin"}


def _euid_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[2])
    raise AssertionError("no Uid line")


async def test_readiness_shows_the_sandbox_to_platform_admins_only(tmp_path: Path) -> None:
    app = create_app(make_container(tmp_path, sandbox_pool_size=1))
    async with serve_app(app) as client:
        (pid,) = app.state["container"].sandbox().sandbox.pool.pids
        admin = await client.get("/health/ready", headers=ADMIN)
        assert admin.status_code == 200, admin.text
        sandbox = admin.json()["sandbox"]
        assert sandbox["mode"] == "local" and sandbox["pool_size"] == 1 and sandbox["live_workers"] == 1
        assert sandbox["running_as_root"] is (_euid_of(pid) == 0) and sandbox["uid"] == _euid_of(pid)
        anonymous = await client.get("/health/ready")
        assert anonymous.status_code == 200 and "sandbox" not in anonymous.json()


async def test_readiness_without_a_sandbox_says_none(tmp_path: Path) -> None:
    app = create_app(make_container(tmp_path, feature_sandbox=False))
    async with serve_app(app) as client:
        admin = await client.get("/health/ready", headers=ADMIN)
        assert admin.status_code == 200 and admin.json()["sandbox"] is None
