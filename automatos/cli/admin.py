"""``automatos admin …``: platform administrators."""

from __future__ import annotations

import json
from typing import Any

import click

from automatos.cli.common import data_settings, init_option, quiet, with_kernel, workspace_or_exit

__all__ = ["admin"]


@click.group()
def admin() -> None:
    """Platform administrators."""


async def _ensure_platform_admin(kernel: Any, email: str, workspace_id: str) -> str:
    """Create or promote the user, make them an owner of ``workspace_id``; returns the user id."""
    from sqlalchemy import select

    from automatos.kernel.db import models as m
    from automatos.kernel.store import KernelStore

    async with kernel.store.sessionmaker.begin() as session:
        user = await session.scalar(select(m.User).where(m.User.email == email))
        if user is None:
            user = m.User(email=email, is_platform_admin=True)
            session.add(user)
            await session.flush()
            KernelStore._audit(session, None, "cli", "user.created", "user", user.id, {"platform_admin": True})
        elif not user.is_platform_admin:
            user.is_platform_admin = True
            KernelStore._audit(session, None, "cli", "user.platform_admin_granted", "user", user.id, {})
        member = await session.scalar(
            select(m.WorkspaceMember).where(
                m.WorkspaceMember.workspace_id == workspace_id, m.WorkspaceMember.user_id == user.id
            )
        )
        if member is None:
            session.add(m.WorkspaceMember(workspace_id=workspace_id, user_id=user.id, role="owner"))
            KernelStore._audit(session, workspace_id, "cli", "member.added", "user", user.id, {"role": "owner"})
        elif member.role != "owner":
            data = {"from": member.role, "to": "owner"}
            member.role = "owner"
            KernelStore._audit(session, workspace_id, "cli", "member.role_changed", "user", user.id, data)
        user_id: str = user.id
    await kernel.directory_changed(workspace_id)
    return user_id


@admin.command("create")
@click.option("--email", required=True, help="The admin's e-mail address (created, or promoted if it exists).")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object on stdout.")
@init_option
def admin_create(email: str, as_json: bool, init: bool) -> None:
    """Make a platform admin, an owner of the default workspace, and print a key for them."""
    from automatos.extensions.auth.api_keys import create_key
    from automatos.kernel.store import DEFAULT_WORKSPACE_SLUG

    address = email.strip().lower()
    if "@" not in address:
        raise click.BadParameter(f"{email!r} is not an e-mail address", param_hint="--email")

    async def run(kernel: Any) -> tuple[Any, Any, str, str]:
        ws = await workspace_or_exit(kernel, DEFAULT_WORKSPACE_SLUG)
        user_id = await _ensure_platform_admin(kernel, address, ws.id)
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
