"""Values that cross hooks: small, immutable msgspec Structs.

Anything an extension receives from the kernel or hands back to it is declared here, so that an
extension author has one place to read. Structs are frozen: a hook implementation cannot mutate
what another implementation will see.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import msgspec

if TYPE_CHECKING:
    from automatos.kernel.backends import KVBackend, VectorBackend

__all__ = [
    "AgentProfile",
    "Assignable",
    "AuthMethod",
    "BackendFactory",
    "ChatMessage",
    "Completion",
    "ContentItem",
    "ContentProvider",
    "EmbeddingProvider",
    "Event",
    "ExtensionInfo",
    "ExtensionState",
    "LLMProvider",
    "Principal",
    "RequestContext",
    "RouteDecision",
    "RouteShortlist",
    "RoutingContext",
    "RoutingRequest",
    "RoutingRule",
    "RoutingTier",
    "ScanFinding",
    "ScanRule",
    "Severity",
    "StreamEvent",
    "ToolCall",
    "ToolProvider",
    "ToolResult",
    "ToolSpec",
    "Workspace",
]


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """Who is calling, as established by an auth method."""

    id: str
    """Stable identifier of the user, API key or service."""
    kind: str = "user"
    """``user``, ``api_key`` or ``service``; extensions may add kinds."""
    auth_method: str = ""
    """Name of the auth method that produced this principal."""
    email: str | None = None
    default_workspace_id: str | None = None
    is_platform_admin: bool = False
    scopes: frozenset[str] = frozenset()
    """Empty means every permission the principal's role allows; otherwise only these (API keys)."""
    workspace_id: str | None = None
    """Set when the credential is bound to one workspace (API keys): it may act nowhere else."""
    role: str | None = None
    """The role a workspace-bound credential holds there (``owner|admin|member|viewer``)."""
    rate_limit: str | None = None
    """Overrides ``RATE_LIMIT_DEFAULT`` for this principal (``limits`` notation)."""
    credential_id: str | None = None
    """Id of the credential that authenticated the request (the API key's id), for ``/api/me``:
    the only trustworthy answer to "which key is this", since headers may carry others."""


class Workspace(msgspec.Struct, frozen=True, kw_only=True):
    """A tenant. Every row of tenant data carries its ``id`` as ``workspace_id``."""

    id: str
    slug: str
    name: str
    status: str = "active"
    extensions_version: int = 0
    """Bumped whenever an extension is enabled or disabled for this workspace."""


class RequestContext(msgspec.Struct, frozen=True, kw_only=True):
    """What a handler and the hooks it calls know about the current request."""

    request_id: str
    principal: Principal | None
    workspace: Workspace | None
    roles: frozenset[str] = frozenset()
    """The principal's roles in ``workspace`` (one today; a set so groups can add more)."""
    admin_override: bool = False
    """A platform admin asked to act outside their memberships (``X-Admin-Override: true``)."""


class ExtensionState(enum.StrEnum):
    LOADED = "loaded"
    QUARANTINED = "quarantined"
    DENIED = "denied"


class ExtensionInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One entry point of the ``automatos.extensions`` group, and what became of it."""

    name: str
    module: str
    distribution: str | None
    version: str | None
    builtin: bool
    essential: bool
    state: ExtensionState
    reason: str | None = None
    """Why it was quarantined or denied: the exception and the step that failed."""
    hooks: tuple[str, ...] = ()
    findings: tuple[ScanFinding, ...] = ()
    risk_score: int | None = None
    """The static scan's score, 0-100 (``automatos.kernel.scanning``); ``None`` for built-ins (not scanned)."""
    verdict: str | None = None
    """The static scan's verdict: ``safe``, ``review`` or ``blocked``; ``None`` for built-ins."""


class Severity(enum.StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class ScanFinding(msgspec.Struct, frozen=True, kw_only=True):
    rule: str
    severity: Severity
    message: str
    path: str
    line: int = 0
    reachable: bool = True
    """False when nothing reachable from the entry module (or run at import or install time) runs
    this code: the finding weighs half (``automatos.kernel.scanning.score``)."""
    declared: bool = False
    """True when the capability used is declared in the manifest's ``[permissions]``: weighs half."""


@runtime_checkable
class ScanRule(Protocol):
    """A static check run over source files of third-party code before it is imported."""

    @property
    def id(self) -> str: ...

    @property
    def severity(self) -> Severity: ...

    def check(self, source: str, path: str) -> Sequence[ScanFinding]: ...


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """Something that happened, told to every enabled extension through ``on_event``."""

    name: str
    """Dotted, e.g. ``extension.enabled``, ``workspace.created``, ``settings.changed``."""
    workspace_id: str | None = None
    data: dict[str, Any] = {}


@runtime_checkable
class AuthMethod(Protocol):
    """Turns request headers into a :class:`Principal`, or ``None`` when they are not for it.

    Raise :class:`automatos.kernel.errors.AuthenticationError` when the credentials are for this
    method but invalid; return ``None`` to let the next method try.
    """

    name: str
    priority: int
    """Lower runs first."""

    def authenticate(self, headers: Mapping[str, str]) -> Awaitable[Principal | None] | Principal | None: ...


BackendFactory = Callable[..., Any]
"""``factory(ctx: BackendContext) -> backend``: builds a backend from the settings (and engine) in ``ctx``."""


class ToolCall(msgspec.Struct, frozen=True, kw_only=True):
    """A model's request to call one tool (OpenAI ``tool_calls[]``, Anthropic ``tool_use``)."""

    id: str
    """The call's id as the model gave it; the tool's answer names it (``tool_call_id``)."""
    name: str
    arguments: str
    """The arguments as the model wrote them: JSON text, not checked — it may be invalid JSON,
    which the caller answers with a tool error, never an exception."""


class ChatMessage(msgspec.Struct, frozen=True, kw_only=True):
    """One message of a conversation: ``system``, ``user``, ``assistant`` or ``tool``.

    An ``assistant`` message may carry the ``tool_calls`` the model asked for (its ``content`` then
    often empty); a ``tool`` message is one call's result as text, ``tool_call_id`` naming the call
    and ``name`` the tool.
    """

    role: str
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None


class Completion(msgspec.Struct, frozen=True, kw_only=True):
    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"
    """``stop``, ``length``, or ``tool_calls`` when the model asks for :attr:`tool_calls`."""
    tool_calls: tuple[ToolCall, ...] = ()


class StreamEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One step of a streamed answer: a text ``delta``; the last event also carries the usage and,
    when the model asks for tools, every :class:`ToolCall` whole (never in pieces)."""

    delta: str = ""
    finish_reason: str | None = None
    """Set on the last event (``stop``, ``length``, ``tool_calls``…)."""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    tool_calls: tuple[ToolCall, ...] = ()


@runtime_checkable
class LLMProvider(Protocol):
    """A language-model provider (OpenAI, Anthropic, offline…).

    ``options`` are ``temperature`` and ``max_tokens`` (either may be ``None``: the provider's
    default), and, for a provider that calls tools, ``tools`` (a sequence of :class:`ToolSpec`
    offered to the model) and ``tool_choice`` (``auto``, ``none``, ``required``); a provider that
    cannot call tools ignores them and answers text. Failures raise
    :class:`automatos.kernel.errors.ProviderError` with a ``kind`` the API can act on; transient ones
    are retried with backoff inside the provider first.
    """

    name: str

    async def complete(self, messages: Sequence[ChatMessage], *, model: str, **options: Any) -> Completion: ...

    def stream(self, messages: Sequence[ChatMessage], *, model: str, **options: Any) -> AsyncIterator[StreamEvent]: ...


@runtime_checkable
class EmbeddingProvider(Protocol):
    name: str
    dimensions: int

    async def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


class AgentProfile(msgspec.Struct, frozen=True, kw_only=True):
    """An active agent of a workspace as the router sees it."""

    id: str
    slug: str
    name: str
    text: str = ""
    """What it is for, in words: name, description, persona, skills, instructions, and the
    descriptions of its plugins' tools — what the semantic tier embeds."""
    is_default: bool = False
    """The workspace's default agent (answers when nothing routes)."""


class RoutingRule(msgspec.Struct, frozen=True, kw_only=True):
    """A workspace's routing rule (``/api/routing/rules``); every condition set must hold."""

    id: str
    agent_id: str
    priority: int = 0
    """Higher first."""
    source: str | None = None
    """A glob (``fnmatch``) over the request's ``source``."""
    channel: str | None = None
    keywords: tuple[str, ...] = ()
    """Any of them, as whole words of the normalised text."""
    regex: str | None = None
    """Checked by a time-safe engine (the routing package refuses patterns that backtrack)."""
    intent_keywords: tuple[str, ...] = ()
    """What the intent tier classifies against (not a condition of the rules tier)."""


class RoutingRequest(msgspec.Struct, frozen=True, kw_only=True):
    """One message to route, as every tier sees it."""

    workspace_id: str
    text: str
    normalized: str = ""
    """``text`` with case, whitespace and punctuation folded (the decision cache's key)."""
    source: str | None = None
    channel: str | None = None
    agent: str | None = None
    """An agent the caller named (id or slug): the override tier's input."""
    shortlist: tuple[str, ...] = ()
    """Agent ids an earlier tier narrowed the choice to (empty: every active agent)."""
    metadata: dict[str, Any] = {}


class RouteDecision(msgspec.Struct, frozen=True, kw_only=True):
    """A tier's answer: this agent (``route_type="agent"``), or nobody — the orchestrator
    (``route_type="orchestrate"``, ``agent_id`` ``None``)."""

    agent_id: str | None
    confidence: float
    tier: str
    reason: str = ""
    route_type: str = "agent"


class RouteShortlist(msgspec.Struct, frozen=True, kw_only=True):
    """A tier's partial answer: not sure enough to decide, it narrows the choice for the tiers after it."""

    agent_ids: tuple[str, ...]
    scores: tuple[float, ...] = ()
    reason: str = ""


class RoutingContext(Protocol):
    """What the router gives every tier for one request (built by the routing package).

    Tiers are extensions: they import only the kernel, and reach the workspace's agents, rules,
    caches, vectors, embedder and LLM through this.
    """

    workspace: Workspace
    config: Mapping[str, Any]
    """The workspace's routing configuration: thresholds, margins, tier settings (calibrated values
    included), by tier name: ``config["semantic"]["threshold"]``…"""
    kv: KVBackend | None
    """The platform's cache (the decision cache lives there); ``None`` when it is down: skip, don't fail."""
    vectors: VectorBackend | None
    """The vector backend (agents' profile embeddings)."""

    async def agents(self) -> Sequence[AgentProfile]: ...

    async def rules(self) -> Sequence[RoutingRule]: ...

    async def embed(self, texts: Sequence[str]) -> tuple[str, list[list[float]]]:
        """``(model id, vectors)`` from the workspace's embedding provider."""
        ...

    async def complete(self, messages: Sequence[ChatMessage], *, max_tokens: int = 200) -> Completion: ...

    def now(self) -> float:
        """Seconds (the router's clock; tests inject it)."""
        ...


@runtime_checkable
class RoutingTier(Protocol):
    """One tier of the router (override, cache, rules, semantic, intent, LLM). Lower ``order`` is tried
    first; the first :class:`RouteDecision` wins; a :class:`RouteShortlist` narrows the choice for the
    tiers after it; ``None`` passes."""

    name: str
    order: int

    async def route(
        self, request: RoutingRequest, context: RoutingContext
    ) -> RouteDecision | RouteShortlist | None: ...


class ToolSpec(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    """Unique in a workspace; safe as an OpenAI function name (``^[a-zA-Z0-9_-]{1,64}$``).
    Marketplace plugins' tools are ``<plugin slug>__<tool>``."""
    description: str
    parameters: dict[str, Any] = {}
    """The JSON Schema of the arguments (an ``object`` schema)."""
    provider: str = ""
    """The provider's ``name`` (``plugin:<slug>`` for a marketplace plugin)."""
    source: str = "builtin"
    """Where the tool comes from: ``plugin``, ``builtin``, ``composio`` or ``mcp``."""
    app: str = ""
    """The app the tool belongs to within its source — a plugin's slug, a Composio toolkit
    (``github``), an MCP server's name, an extension's name; empty: the provider's name is used.
    ``(source, app)`` is what agents are assigned (``agent_app_assignments``) and what a workspace
    switches off (``workspace_tool_config``)."""
    intent: str = "write"
    """What calling it does: ``read`` (only reads), ``write`` (changes something) or
    ``destructive`` (deletes or cannot be undone). An agent's configuration
    (``tool_intents``) says which intents it may call."""


class ToolResult(msgspec.Struct, frozen=True, kw_only=True):
    """What one tool call gave: its JSON result, or why it failed.

    ``error`` is ``{"kind", "message", …}``: for a sandboxed call it is the sandbox's error
    (``limit`` errors carry ``limit`` and ``value``); ``kind`` ``unavailable`` when the tool's
    source cannot run it now.
    """

    ok: bool
    result: Any = None
    error: dict[str, Any] | None = None
    logs: list[dict[str, str]] = []
    usage: dict[str, float] = {}


IDEMPOTENCY_KEY: ContextVar[str | None] = ContextVar("automatos_idempotency_key", default=None)
"""Set while a tool runs for a recipe step: ``<run>:<step>:<attempt>``, the same when a stopped
worker's step is run again. A provider that can deduplicate (an API's ``Idempotency-Key``) reads it
in ``execute``; others ignore it."""


@runtime_checkable
class ToolProvider(Protocol):
    name: str

    async def list_tools(self, workspace_id: str) -> Sequence[ToolSpec]: ...

    async def execute(self, workspace_id: str, tool: str, arguments: Mapping[str, Any]) -> ToolResult: ...


class ContentItem(msgspec.Struct, frozen=True, kw_only=True):
    """A piece of text a provider adds to an agent's system prompt (a plugin's skill or prompt)."""

    kind: str
    """``skill`` or ``prompt``."""
    name: str
    text: str
    source: str = ""
    """The provider's name (``plugin:<slug>``)."""


@runtime_checkable
class ContentProvider(Protocol):
    """Gives content (skills, prompts) to the agents it is assigned to (*per workspace*)."""

    name: str

    async def content(self, workspace_id: str) -> Sequence[ContentItem]: ...


@runtime_checkable
class Assignable(Protocol):
    """A provider given to some agents only (a marketplace plugin's proxy): agent id → position.

    The positions order the agent's providers (its system prompt takes their content in that
    order). The map is read when the workspace's view is built, so an assignment change bumps the
    workspace's ``extensions_version`` like any other change of its view.
    """

    assignments: Mapping[str, int]
