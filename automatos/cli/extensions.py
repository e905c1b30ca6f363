"""``automatos extensions …``: installed extensions and their per-workspace state."""

from __future__ import annotations

import json
from typing import Any

import click
import msgspec

from automatos.cli.common import command_settings, data_settings, init_option, with_kernel

__all__ = ["extensions"]


@click.group()
def extensions() -> None:
    """Installed extensions and their per-workspace state."""


@extensions.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array on stdout.")
def extensions_list(as_json: bool) -> None:
    """Discover and load extensions the way the server does, and say what became of each."""
    from automatos.kernel.container import build_registry

    registry = build_registry(command_settings())
    infos = sorted(registry.extensions.values(), key=lambda i: (not i.builtin, i.name))
    if as_json:
        click.echo(json.dumps(msgspec.to_builtins(infos)))
        return
    for info in infos:
        origin = f"{info.distribution or '?'} {info.version or ''}".strip()
        reason = f" - {info.reason}" if info.reason else ""
        click.echo(f"{info.state.value:<12} {info.name:<32} {origin}{reason}")


def _toggle(workspace: str, name: str, enabled: bool, init: bool) -> None:
    async def run(kernel: Any) -> int:
        ws = await kernel.store.get_workspace(workspace)
        if ws is None:
            raise click.ClickException(f"workspace {workspace!r} does not exist")
        version: int = await kernel.set_extension(ws, name, enabled=enabled, actor_id="cli")
        return version

    version = with_kernel(run, data_settings(init))
    click.echo(f"{name} {'enabled' if enabled else 'disabled'} in {workspace} (version {version})")


@extensions.command("enable")
@click.option("--workspace", required=True, help="Workspace id or slug.")
@click.argument("name")
@init_option
def extensions_enable(workspace: str, name: str, init: bool) -> None:
    """Enable an extension in a workspace."""
    _toggle(workspace, name, True, init)


@extensions.command("disable")
@click.option("--workspace", required=True, help="Workspace id or slug.")
@click.argument("name")
@init_option
def extensions_disable(workspace: str, name: str, init: bool) -> None:
    """Disable an extension in a workspace (essential built-ins refuse)."""
    _toggle(workspace, name, False, init)
