"""``automatos keys …``: a workspace's API keys (create, list, revoke), through the API-key extension's
public service (:mod:`automatos.extensions.auth.api_keys.service`)."""

from __future__ import annotations

import json
from typing import Any

import click
import msgspec

from automatos.cli.common import data_settings, init_option, quiet, with_kernel, workspace_or_exit

__all__ = ["keys"]


_ROLES = click.Choice(["owner", "admin", "member", "viewer"])


@click.group()
def keys() -> None:
    """API keys of a workspace. A new key is printed once; only its hash is stored."""


@keys.command("create")
@click.option("--workspace", required=True, help="Workspace id or slug (a fresh install has 'default').")
@click.option("--name", required=True, help="What the key is for.")
@click.option("--role", type=_ROLES, default="member", show_default=True)
@click.option("--scope", "scopes", multiple=True, help="Narrow the key to this permission (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object on stdout.")
@init_option
def keys_create(workspace: str, name: str, role: str, scopes: tuple[str, ...], as_json: bool, init: bool) -> None:
    """Create an API key; use it as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'."""
    from automatos.extensions.auth.api_keys.service import create_key  # the extension's public service

    async def run(kernel: Any) -> tuple[Any, Any, str]:
        ws = await workspace_or_exit(kernel, workspace)
        record, key = await create_key(kernel, ws.id, name, role, scopes, created_by="cli")
        return ws, record, key

    with quiet(as_json):
        ws, record, key = with_kernel(run, data_settings(init))
    if as_json:
        fields = {"workspace_id": ws.id, "id": record.id, "prefix": record.prefix, "name": record.name}
        click.echo(json.dumps({"key": key, **fields, "role": record.role}))
        return
    click.echo(f"API key {record.name!r} ({record.prefix}, role {record.role}) in workspace {ws.slug}:")
    click.echo(key)
    click.echo("It is shown only this once: store it now.", err=True)


@keys.command("list")
@click.option("--workspace", required=True, help="Workspace id or slug.")
@click.option("--include-revoked", is_flag=True, help="Show revoked keys too.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array on stdout.")
@init_option
def keys_list(workspace: str, include_revoked: bool, as_json: bool, init: bool) -> None:
    """The workspace's keys (prefixes, never secrets)."""
    from automatos.extensions.auth.api_keys.service import list_keys  # the extension's public service

    async def run(kernel: Any) -> list[Any]:
        ws = await workspace_or_exit(kernel, workspace)
        records, _ = await list_keys(kernel, ws.id, 0, 10_000, include_revoked=include_revoked)
        return records

    with quiet(as_json):
        records = with_kernel(run, data_settings(init))
    if as_json:
        click.echo(json.dumps(msgspec.to_builtins(records)))
        return
    for r in records:
        used = r.last_used_at.isoformat(timespec="seconds") if r.last_used_at else "never"
        state = "revoked" if r.revoked_at else "active"
        click.echo(f"{r.prefix}  {r.id}  {r.role:<7} {state:<8} last used {used:<25} {r.name}")


@keys.command("revoke")
@click.option("--workspace", required=True, help="Workspace id or slug.")
@click.argument("key_id")
@init_option
def keys_revoke(workspace: str, key_id: str, init: bool) -> None:
    """Revoke KEY_ID (the key's id or prefix) on every node at once."""
    from automatos.extensions.auth.api_keys.service import revoke_key  # the extension's public service

    async def run(kernel: Any) -> Any:
        ws = await workspace_or_exit(kernel, workspace)
        return await revoke_key(kernel, ws.id, key_id, "cli")

    record = with_kernel(run, data_settings(init))
    click.echo(f"revoked {record.prefix} ({record.name})")
