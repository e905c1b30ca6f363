"""A workspace with 20 enabled marketplace plugins: how long building its hook view takes.

One kernel on the embedded default (SQLite file, in-process cache) with the marketplace runtime's
extras loader attached (``PluginsService.start``). The workspace has N approved plugins enabled,
each with cached declarations (5 tools), an encrypted configuration and an agent assignment; the
rows are written directly (scanning and approving 20 bundles is not what is measured). Each round
builds the view of the workspace with the plugins and of a workspace with none, interleaved, the
order reversed every round; the view build is what ``extensions_version`` bumps trigger in the
background (never on a request: the runtime pre-warms at start). Goal: < 50 ms with 20 plugins.

Run: .venv/bin/python bench/plugin_view.py [--plugins 20] [--rounds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from common import fmt, header, median, percentile, quiet, table, verdict

from automatos.kernel.core import Kernel
from automatos.kernel.db.base import utcnow
from automatos.marketplace.models import MarketplacePlugin, PluginVersion
from automatos.marketplace.runtime.models import AgentPlugin, WorkspacePlugin
from automatos.marketplace.runtime.service import PluginsService
from tests.helpers import running_kernel
from tests.workspaces.helpers import new_workspace

GOAL_MS = 50.0


def bundle(slug: str, files: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("plugin.toml", f'name = "{slug}"\nversion = "1.0.0"\nentry = "plug"\n')
        archive.writestr("plug.py", "def register(ctx):\n    pass\n")
        for path, data in (files or {}).items():
            archive.writestr(path, data)
    return out.getvalue()


async def seed(
    kernel: Kernel, workspace_id: str, count: int, *, files: dict[str, bytes] | None = None, prefix: str = "bench"
) -> list[str]:
    """``count`` approved plugins with cached declarations, enabled in the workspace; their slugs."""
    declarations: dict[str, Any] = {
        "tools": [
            {
                "name": f"tool_{i}",
                "description": "A tool of the benchmark.",
                "parameters": {"type": "object", "properties": {"x": {"type": "string"}}},
                "handler": "plug:run",
            }
            for i in range(5)
        ],
        "skills": [],
        "prompts": [],
        "routing_rules": [],
    }
    provides = {"skills": sorted(p for p in (files or {}) if p.startswith("skills/"))}
    slugs = []
    async with kernel.store.sessionmaker.begin() as session:
        for n in range(count):
            slug = f"{prefix}-{n:02d}"
            data = bundle(slug, files)
            sha = hashlib.sha256(data).hexdigest()
            key = f"plugins/{slug}/1.0.0/{sha}.zip"
            await kernel.backends.blob.put(key, data)
            plugin = MarketplacePlugin(slug=slug, name=slug, status="active")
            session.add(plugin)
            await session.flush()
            version = PluginVersion(
                plugin_id=plugin.id,
                version="1.0.0",
                sha256=sha,
                blob_key=key,
                size=len(data),
                manifest={"entry": "plug", "permissions": {"env": ["TOKEN"]}, "provides": provides},
                files=[],
                status="approved",
                approved_sha256=sha,
                approved_at=utcnow(),
                granted_permissions={"env": ["TOKEN"]},
                declarations=declarations,
            )
            session.add(version)
            await session.flush()
            plugin.latest_version_id, plugin.latest_version = version.id, "1.0.0"
            session.add(
                WorkspacePlugin(
                    workspace_id=workspace_id,
                    plugin_id=plugin.id,
                    version_id=version.id,
                    config=kernel.store.secret_box.encrypt_config({"TOKEN": f"secret-{n}"}),
                )
            )
            session.add(AgentPlugin(workspace_id=workspace_id, agent_id="agent-1", plugin_id=plugin.id, position=n))
            slugs.append(slug)
    return slugs


class _NoSandbox:
    async def run_plugin(self, job: Any, **kwargs: Any) -> Any:
        raise RuntimeError("not used by this benchmark")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plugins", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    header(f"bench/plugin_view.py: building the hook view of a workspace with {args.plugins} enabled plugins")
    quiet()
    with tempfile.TemporaryDirectory() as tmp:
        async with running_kernel(Path(tmp), feature_sandbox=False) as kernel:
            full = await new_workspace(kernel, "full", "Full")
            empty = await new_workspace(kernel, "empty", "Empty")
            await seed(kernel, full.id, args.plugins)
            service = PluginsService(kernel, _NoSandbox())
            await service.start()
            times: dict[str, list[float]] = {"with plugins": [], "without": []}
            for _ in range(3):  # warm-up: connections, statement caches
                await kernel.views.build(full.id)
                await kernel.views.build(empty.id)
            for i in range(args.rounds):
                order = [("with plugins", full.id), ("without", empty.id)]
                for label, ws in order if i % 2 == 0 else reversed(order):
                    start = time.perf_counter()
                    view = await kernel.views.build(ws)
                    times[label].append((time.perf_counter() - start) * 1000)
                    assert len(view.proxies) == (args.plugins if ws == full.id else 0)
            await service.stop()
    rows = [(label, len(v), fmt(median(v)), fmt(percentile(v, 95)), fmt(max(v))) for label, v in times.items()]
    table(["view", "builds", "median ms", "p95 ms", "max ms"], rows)
    built = median(times["with plugins"])
    print()
    print(
        f"- view with {args.plugins} plugins built in {fmt(built)} ms (median); goal < {GOAL_MS:g} ms: "
        f"{verdict(built < GOAL_MS)}"
    )
    print(f"- the plugins' share: {fmt(built - median(times['without']))} ms over a view without plugins")


if __name__ == "__main__":
    asyncio.run(main())
