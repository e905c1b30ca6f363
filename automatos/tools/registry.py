"""The tool registry: every tool a workspace can use, from every source, behind one lookup.

Where tools come from: the workspace's hook view (:mod:`automatos.kernel.views`) — the extensions'
``register_tool_providers`` and the *proxies* joined to that view only (a marketplace plugin
enabled in the workspace: ``plugin:<slug>``, its tools ``<slug>__<tool>``), both collected by
:meth:`automatos.kernel.hooks.Hooks.tool_providers`. A proxy in workspace A's view is not in B's,
so nothing here can name a tool of another workspace.

The rules:

- **Hot path**: one view lookup (``kernel.views.cached``, built only on a cold node) and no
  database read. The providers are collected once per view and settings object (a new view, after
  an extension or plugin change, collects again); each provider's ``list_tools`` is asked per call
  (plugin proxies answer from their declarations cache; later sources cache their catalogues).
- **Contained**: a provider whose ``list_tools`` raises or takes longer than ``list_timeout``
  seconds is logged and left out; the others are listed. A tool name must be OpenAI-function safe
  (``^[a-zA-Z0-9_-]{1,64}$``) and unique in the workspace: an unsafe name is left out, a second
  provider offering a taken name loses it (extensions come before proxies), both logged.
- :meth:`ToolRegistry.execute` returns a :class:`~automatos.kernel.types.ToolResult` for whatever
  the call did — the tool failed, hit a sandbox limit, its provider raised (``kind: provider``, the
  exception's type only), took too long (``kind: timeout``), or its source cannot run it now
  (``kind: unavailable``: the sandbox is down or busy) — and raises only
  :class:`~automatos.kernel.errors.NotFoundError` for a name the workspace does not have. The
  provider is given the name as it listed it (``<slug>__<tool>`` for a plugin). A provider
  returning a plain value (older extensions) is read as ``ok`` with that value as the result.
- **Permissions** (:mod:`automatos.tools.permissions`): a provider that is
  :class:`~automatos.kernel.types.Assignable` (a plugin proxy) serves only the agents in its
  ``assignments`` (agent id → position); other sources' tools reach an agent through its apps
  (``agent_app_assignments``); the workspace's switches (``workspace_tool_config``) take tools or
  whole apps out of :meth:`tools` and :meth:`agent_tools`; :meth:`agent_tools` keeps only the
  intents it is given. Assignments and switches are the view's :class:`ToolPolicy`, read with the
  view, so :meth:`agent_tools` and :meth:`agent_content` read no database either.
- **Apps**: every tool belongs to an app of its source (:func:`~automatos.tools.permissions.app_of`:
  a plugin's slug, a Composio toolkit, an MCP server, an extension); :meth:`apps` counts them.

The API (:mod:`automatos.tools.service`) validates arguments, checks permissions and audits; the
chat service adds :meth:`agent_content` to system prompts. Issue 14's tool loop asks
:meth:`agent_tools` for what to offer a model and :meth:`execute` for each call.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from automatos.kernel.errors import AutomatosError, NotFoundError, echo
from automatos.kernel.types import Assignable, ContentItem, ContentProvider, ToolProvider, ToolResult, ToolSpec
from automatos.tools.permissions import EMPTY_POLICY, ToolPolicy, app_of

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel
    from automatos.kernel.hooks import Collected, HookView
    from automatos.kernel.types import Workspace

__all__ = ["TOOL_NAME", "AppSummary", "ToolRegistry"]

log = logging.getLogger("automatos.tools")

TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
"""What a tool may be called: safe as an OpenAI function name (and in a URL path)."""

_MAX_WORKSPACES = 10_000
"""Collections kept at the most; past it the cache starts again (it refills on demand)."""


class AppSummary(msgspec.Struct, frozen=True, kw_only=True):
    """One app of the workspace (``GET /api/tools/apps``)."""

    source: str
    app: str
    provider: str
    """The provider serving it (``plugin:<slug>``, ``composio``, ``mcp:<server>``, an extension)."""
    tools: int
    """How many of its tools the workspace has on."""
    disabled: int = 0
    """How many are switched off in the workspace."""


class ToolRegistry:
    """The tools of each workspace, by name; the tools and content of each agent."""

    def __init__(self, kernel: Kernel, *, list_timeout: float = 5.0, execute_timeout: float = 630.0) -> None:
        self.kernel = kernel
        self.list_timeout = list_timeout
        """Longest wait for one provider's ``list_tools`` (or ``content``) before it is left out."""
        self.execute_timeout = execute_timeout
        """Longest wait for one call: above the sandbox's own wall limit (at most 600 s), so a
        sandboxed call ends with the sandbox's limit error first; this bounds other providers."""
        self._providers: dict[str, tuple[object, object, Collected[ToolProvider]]] = {}

    # --- providers ---------------------------------------------------------------------------------

    async def _view(self, workspace: Workspace) -> HookView:
        return self.kernel.views.cached(workspace.id) or await self.kernel.views.get(workspace.id)

    async def providers(self, workspace: Workspace) -> Collected[ToolProvider]:
        """The workspace's tool providers by name: extensions' first, then the view's proxies."""
        view = await self._view(workspace)
        settings = self.kernel.current_settings
        hit = self._providers.get(workspace.id)
        if hit is not None and hit[0] is view and hit[1] is settings:
            return hit[2]
        got = await self.kernel.hooks.tool_providers(view, workspace)
        if len(self._providers) > _MAX_WORKSPACES:
            self._providers.clear()
        self._providers[workspace.id] = (view, settings, got)
        return got

    async def _listed(self, workspace_id: str, provider: ToolProvider) -> list[ToolSpec]:
        """One provider's tools (its ``name`` filled in), or none when it fails or is too slow."""
        try:
            async with asyncio.timeout(self.list_timeout):
                specs = list(await provider.list_tools(workspace_id))
        except TimeoutError:
            log.warning("workspace %s: tool provider %s did not list its tools in time", workspace_id, provider.name)
            return []
        except Exception:
            log.exception("workspace %s: tool provider %s failed to list its tools", workspace_id, provider.name)
            return []
        listed: list[ToolSpec] = []
        for spec in specs:
            if not isinstance(spec, ToolSpec):
                log.warning(
                    "workspace %s: tool provider %s listed %r, not a ToolSpec", workspace_id, provider.name, spec
                )
                continue
            if not TOOL_NAME.fullmatch(spec.name):
                log.warning(
                    "workspace %s: tool provider %s: unsafe tool name %r left out",
                    workspace_id,
                    provider.name,
                    spec.name,
                )
                continue
            if spec.provider != provider.name or not spec.app:
                spec = msgspec.structs.replace(spec, provider=provider.name)
                spec = msgspec.structs.replace(spec, app=app_of(spec))
            listed.append(spec)
        return listed

    async def _catalogue(
        self, workspace: Workspace, only: Sequence[ToolProvider] | None = None
    ) -> list[tuple[ToolProvider, ToolSpec]]:
        """Every (provider, tool) of the workspace (or of ``only``), in provider order, names unique."""
        providers = list((await self.providers(workspace)).items.values()) if only is None else list(only)
        answers = await asyncio.gather(*(self._listed(workspace.id, p) for p in providers))
        seen: dict[str, str] = {}
        catalogue: list[tuple[ToolProvider, ToolSpec]] = []
        for provider, specs in zip(providers, answers, strict=True):
            for spec in specs:
                owner = seen.get(spec.name)
                if owner is not None:
                    log.warning(
                        "workspace %s: tool %s of %s hides behind %s's", workspace.id, spec.name, provider.name, owner
                    )
                    continue
                seen[spec.name] = provider.name
                catalogue.append((provider, spec))
        return catalogue

    # --- the workspace's tools ---------------------------------------------------------------------

    async def policy(self, workspace: Workspace) -> ToolPolicy:
        """The workspace's assignments and switches, as its view holds them (no database read)."""
        for extra in (await self._view(workspace)).proxies:
            if isinstance(extra, ToolPolicy):
                return extra
        return EMPTY_POLICY

    async def tools(self, workspace: Workspace, *, disabled: bool = False) -> list[ToolSpec]:
        """Every tool the workspace has on (with ``disabled``, the ones switched off too), extensions'
        first, then its plugins' and the other sources', each provider's in its order."""
        catalogue = [spec for _, spec in await self._catalogue(workspace)]
        if disabled:
            return catalogue
        policy = await self.policy(workspace)
        return [spec for spec in catalogue if policy.enabled(spec)]

    async def apps(self, workspace: Workspace) -> list[AppSummary]:
        """The workspace's apps, by source then name, with how many tools each has on and off."""
        policy = await self.policy(workspace)
        counts: dict[tuple[str, str], list[Any]] = {}
        for _, spec in await self._catalogue(workspace):
            entry = counts.setdefault((spec.source, app_of(spec)), [spec.provider, 0, 0])
            entry[1 if policy.enabled(spec) else 2] += 1
        return [
            AppSummary(source=source, app=app, provider=provider, tools=on, disabled=off)
            for (source, app), (provider, on, off) in sorted(counts.items())
        ]

    async def find(self, workspace: Workspace, name: str) -> tuple[ToolProvider, ToolSpec]:
        """The provider and spec of the tool ``name``; :class:`NotFoundError` (404) naming it otherwise."""
        if TOOL_NAME.fullmatch(name):
            for provider, spec in await self._catalogue(workspace):
                if spec.name == name:
                    return provider, spec
        raise NotFoundError(f"tool {echo(name)} does not exist in this workspace", field="name")

    async def execute(self, workspace: Workspace, name: str, arguments: Mapping[str, Any]) -> ToolResult:
        """Run the tool ``name`` (see the module docstring: always a result, 404 for an unknown name)."""
        provider, spec = await self.find(workspace, name)
        return await self.call(workspace, provider, spec, arguments)

    async def call(
        self, workspace: Workspace, provider: ToolProvider, spec: ToolSpec, arguments: Mapping[str, Any]
    ) -> ToolResult:
        """Run a tool :meth:`find` gave, contained: every outcome is a :class:`ToolResult`."""
        try:
            async with asyncio.timeout(self.execute_timeout):
                got: Any = await provider.execute(workspace.id, spec.name, arguments)
        except TimeoutError:
            log.warning(
                "workspace %s: tool %s did not answer within %gs", workspace.id, spec.name, self.execute_timeout
            )
            message = f"the tool did not answer within {self.execute_timeout:g} s"
            return ToolResult(ok=False, error={"kind": "timeout", "message": message})
        except AutomatosError as exc:  # said on purpose: the sandbox is down or busy (503), or a refusal
            kind = "unavailable" if exc.status_code == 503 else "refused"
            log.warning("workspace %s: tool %s: %s (%s)", workspace.id, spec.name, exc.detail, kind)
            return ToolResult(ok=False, error={**exc.extra, "kind": kind, "message": exc.detail})
        except Exception as exc:
            log.exception("workspace %s: tool provider %s failed on %s", workspace.id, provider.name, spec.name)
            message = f"the tool's provider failed ({type(exc).__name__})"
            return ToolResult(ok=False, error={"kind": "provider", "message": message})
        if isinstance(got, ToolResult):
            return got
        return ToolResult(ok=True, result=got)

    # --- an agent's tools and content --------------------------------------------------------------

    @staticmethod
    def _assigned(providers: Sequence[Any], agent_id: str) -> list[Any]:
        """The providers assigned to ``agent_id``, by position (then name, for equal positions)."""
        mine = [p for p in providers if isinstance(p, Assignable) and agent_id in p.assignments]
        return sorted(mine, key=lambda p: (p.assignments[agent_id], str(getattr(p, "name", ""))))

    async def agent_tools(
        self, workspace: Workspace, agent_id: str, intents: frozenset[str] | None = None
    ) -> list[ToolSpec]:
        """What the agent may call now: the tools of the plugins assigned to it (in their order), then
        the tools of its other apps (in theirs), less those the workspace switched off and those
        whose intent is not in ``intents`` — by default the agent's own, as the view holds them
        (:mod:`automatos.tools.permissions`)."""
        policy = await self.policy(workspace)
        if intents is None:
            intents = policy.intents_of(agent_id)
        providers = list((await self.providers(workspace)).items.values())
        assigned = self._assigned(providers, agent_id)
        allowed: list[ToolSpec] = []
        if assigned:
            allowed.extend(spec for _, spec in await self._catalogue(workspace, assigned))
        if policy.apps.get(agent_id):
            others = [p for p in providers if not (isinstance(p, Assignable))]
            ranked: list[tuple[int, int, ToolSpec]] = []
            for index, (_, spec) in enumerate(await self._catalogue(workspace, others)):
                position = policy.position(agent_id, spec)
                if position is not None:
                    ranked.append((position, index, spec))
            taken = {spec.name for spec in allowed}
            allowed.extend(spec for _, _, spec in sorted(ranked, key=lambda r: (r[0], r[1])) if spec.name not in taken)
        return [spec for spec in allowed if spec.intent in intents and policy.enabled(spec)]

    async def agent_content(self, workspace: Workspace, agent_id: str) -> list[ContentItem]:
        """The content (skills, prompts) of the providers assigned to the agent, in assignment order.

        Reads no database (the view's proxies read their content through the KV cache or the blob
        store); a provider that fails or is too slow is logged and skipped, never the caller's error.
        """
        view = await self._view(workspace)
        providers = list(self.kernel.hooks.content_providers(view).items.values())
        assigned: list[ContentProvider] = self._assigned(providers, agent_id)
        if not assigned:
            return []
        answers = await asyncio.gather(*(self._content(workspace.id, p) for p in assigned))
        return [item for items in answers for item in items]

    async def _content(self, workspace_id: str, provider: ContentProvider) -> list[ContentItem]:
        try:
            async with asyncio.timeout(self.list_timeout):
                items = list(await provider.content(workspace_id))
        except TimeoutError:
            log.warning("workspace %s: content provider %s did not answer in time", workspace_id, provider.name)
            return []
        except Exception:
            log.exception("workspace %s: content provider %s failed", workspace_id, provider.name)
            return []
        return [item for item in items if isinstance(item, ContentItem)]
