"""``automatos admin …``: platform administrators (the user and the membership are the
:class:`~automatos.workspaces.service.WorkspaceService`'s writes, published to running servers)."""

from __future__ import annotations

import json
from typing import Any

import click

from automatos.cli.common import data_settings, init_option, quiet, with_kernel, workspace_or_exit

__all__ = ["admin"]


@click.group()
def admin() -> None:
    """Platform administrators."""


@admin.command("create")
@click.option("--email", required=True, help="The admin's e-mail address (created, or promoted if it exists).")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object on stdout.")
@init_option
def admin_create(email: str, as_json: bool, init: bool) -> None:
    """Make a platform admin, an owner of the default workspace, and print a key for them."""
    from automatos.extensions.auth.api_keys.service import create_key  # the extension's public service
    from automatos.workspaces.service import DEFAULT_WORKSPACE_SLUG, WorkspaceService

    address = email.strip().lower()
    if "@" not in address:
        raise click.BadParameter(f"{email!r} is not an e-mail address", param_hint="--email")

    async def run(kernel: Any) -> tuple[Any, Any, str, str]:
        ws = await workspace_or_exit(kernel, DEFAULT_WORKSPACE_SLUG)
        user_id = await WorkspaceService.of(kernel).make_platform_admin(address, ws.id, actor_id="cli")
        record, key = await create_key(kernel, ws.id, f"admin {address}", "owner", user_id=user_id, created_by="cli")
        return ws, record, key, user_id

    with quiet(as_json):
        ws, record, key, user_id = with_kernel(run, data_settings(init))
    if as_json:
        fields = {"workspace_id": ws.id, "id": record.id, "prefix": record.prefix, "name": record.name}
        click.echo(json.dumps({"key": key, **fields, "role": record.role, "user_id": user_id, "email": address}))
        return
    click.echo(f"{address} is a platform admin and an owner of workspace {ws.slug}. Their API key:")
    click.echo(key)
    click.echo("It is shown only this once: store it now.", err=True)
