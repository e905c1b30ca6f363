"""Composio as a tool source: one :class:`ComposioToolProvider` per workspace, in that workspace's view.

- :meth:`ComposioTools.providers` is the extras loader added to the kernel's views
  (:meth:`WorkspaceViews.add_extras <automatos.kernel.views.WorkspaceViews.add_extras>`) at start: two
  queries — the workspace's **active** connections, then the cached actions of their apps — give
  one provider, or none (no active connection, or no ``COMPOSIO_API_KEY``: the source is absent).
  Every connection write bumps the workspace's view version (:mod:`.connections`), so tools
  appear when a connection becomes active and are gone when it is revoked, on every node.
- A tool is ``<toolkit>__<ACTION>`` (``github__CREATE_ISSUE`` for ``GITHUB_CREATE_ISSUE``: the
  toolkit's prefix dropped), made safe for ``^[a-zA-Z0-9_-]{1,64}$`` (a longer one is cut and ends
  with a hash of the slug, so names stay unique); ``source`` ``composio``, ``app`` the toolkit, the
  intent from Composio's hints (``readOnlyHint``, ``destructiveHint``) or the action's verb.
- :meth:`ComposioToolProvider.execute` runs the action through the SDK with **this workspace's**
  connected account (the one bound when the view was built) and the workspace as Composio user;
  the provider answers nothing for another workspace. Whatever fails — Composio unreachable, an
  error status, ``successful: false`` — is an ``ok: false`` result (``unavailable`` or
  ``provider``), never an exception.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import select

from automatos.kernel.types import ToolResult, ToolSpec
from automatos.kernel.view_versions import join_views
from automatos.tools.composio.catalogue import actions_of_apps
from automatos.tools.composio.client import ComposioClient, describe_error
from automatos.tools.composio.models import EntityConnection

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel

__all__ = ["ComposioToolProvider", "ComposioTools", "tool_intent", "tool_name"]

log = logging.getLogger("automatos.tools.composio")

NAME_MAX = 64
DESCRIPTION_MAX = 2000
READ_VERBS = frozenset({"GET", "LIST", "FETCH", "SEARCH", "FIND", "READ", "RETRIEVE", "VIEW", "DESCRIBE", "QUERY"})
DESTRUCTIVE_VERBS = frozenset({"DELETE", "REMOVE", "DESTROY", "PURGE", "ERASE", "REVOKE"})


def tool_name(app: str, slug: str) -> str:
    """``<toolkit>__<ACTION>``, safe and at most 64 characters (see the module docstring)."""
    action = slug[len(app) + 1 :] if slug.upper().startswith(app.upper() + "_") else slug
    name = re.sub(r"[^a-zA-Z0-9_-]", "_", f"{app}__{action}")
    if len(name) > NAME_MAX:
        name = name[: NAME_MAX - 9] + "_" + hashlib.sha256(slug.encode()).hexdigest()[:8]
    return name


def tool_intent(app: str, slug: str, tags: Sequence[str]) -> str:
    if "destructiveHint" in tags:
        return "destructive"
    if "readOnlyHint" in tags:
        return "read"
    words = set(tool_name(app, slug).split("__", 1)[-1].upper().split("_"))
    if words & DESTRUCTIVE_VERBS:
        return "destructive"
    first = tool_name(app, slug).split("__", 1)[-1].upper().split("_", 1)[0]
    return "read" if first in READ_VERBS else "write"


class Bound(msgspec.Struct, frozen=True, kw_only=True):
    """What a tool name runs: the action, its version, the workspace's connected account."""

    slug: str
    version: str | None
    account_id: str


class ComposioToolProvider:
    """One workspace's Composio tools (built by :meth:`ComposioTools.providers`)."""

    name = "composio"

    def __init__(
        self, workspace_id: str, client: ComposioClient, specs: list[ToolSpec], bound: dict[str, Bound]
    ) -> None:
        self.workspace_id = workspace_id
        self.client = client
        self._specs = specs
        self._bound = bound

    async def list_tools(self, workspace_id: str) -> Sequence[ToolSpec]:
        return self._specs if workspace_id == self.workspace_id else []

    async def execute(self, workspace_id: str, tool: str, arguments: Mapping[str, Any]) -> ToolResult:
        bound = self._bound.get(tool) if workspace_id == self.workspace_id else None
        if bound is None:  # never another workspace's account
            return ToolResult(ok=False, error={"kind": "provider", "message": f"no Composio tool {tool} here"})
        try:
            sdk = await self.client.sdk()
            response = await self.client.call(
                sdk.tools.execute,
                bound.slug,
                dict(arguments),
                connected_account_id=bound.account_id,
                user_id=self.workspace_id,
                version=bound.version,
                dangerously_skip_version_check=bound.version is None or None,
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            kind, message = describe_error(exc)
            log.warning("workspace %s: Composio action %s failed (%s)", workspace_id, bound.slug, kind)
            return ToolResult(ok=False, error={"kind": kind, "message": message})
        if not isinstance(response, Mapping) or not response.get("successful"):
            error = response.get("error") if isinstance(response, Mapping) else None
            message = f"Composio: {error}" if error else "Composio: the action did not succeed"
            return ToolResult(ok=False, error={"kind": "provider", "message": str(message)[:500]})
        return ToolResult(ok=True, result=response.get("data"))


class ComposioTools:
    """The extras loader's owner: joins :class:`ComposioToolProvider` to every workspace's view."""

    def __init__(self, kernel: Kernel, client: ComposioClient) -> None:
        self.kernel = kernel
        self.client = client
        self._attached = False

    async def start(self) -> None:
        """Join the providers to every view from now on (views built before are rebuilt)."""
        if self._attached:
            return
        self._attached = True
        await join_views(self.kernel, self.providers, "its Composio tools")

    async def providers(self, workspace_id: str) -> list[ComposioToolProvider]:
        """The workspace's provider, or none (see the module docstring)."""
        if not self.client.configured:
            return []
        async with self.kernel.store.sessionmaker() as session:
            connections = (
                await session.execute(
                    select(EntityConnection.app_slug, EntityConnection.external_id)
                    .where(
                        EntityConnection.workspace_id == workspace_id,
                        EntityConnection.status == "active",
                        EntityConnection.external_id.is_not(None),
                    )
                    .order_by(EntityConnection.updated_at.desc(), EntityConnection.id)
                )
            ).all()
            accounts: dict[str, str] = {}
            for app, account in connections:
                accounts.setdefault(app, str(account))  # the latest active connection of an app
            if not accounts:
                return []
            actions = (await session.execute(actions_of_apps(sorted(accounts)))).all()
        specs: list[ToolSpec] = []
        bound: dict[str, Bound] = {}
        for slug, app, description, name, parameters, tags, version in actions:
            tool = tool_name(app, slug)
            if tool in bound:
                log.warning(
                    "workspace %s: Composio actions share the tool name %s; %s left out", workspace_id, tool, slug
                )
                continue
            schema = dict(parameters) if isinstance(parameters, dict) else {}
            schema.setdefault("type", "object")
            specs.append(
                ToolSpec(
                    name=tool,
                    description=(description or name)[:DESCRIPTION_MAX],
                    parameters=schema,
                    provider=ComposioToolProvider.name,
                    source="composio",
                    app=app,
                    intent=tool_intent(app, slug, list(tags or [])),
                )
            )
            bound[tool] = Bound(slug=slug, version=version, account_id=accounts[app])
        return [ComposioToolProvider(workspace_id, self.client, specs, bound)]
