"""A test extension that implements every hook, mixing sync and async implementations.

Registered in-process through a :class:`Candidate` with a loader (no install needed). Its auth
method reads ``X-Test-User: <user id>[;admin]`` — a test-only way in that proves an extension can
add an auth method next to the built-in API-key and JWT ones.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import msgspec
from litestar import get

from automatos import (
    ChatMessage,
    Completion,
    Declared,
    Event,
    MigrationSource,
    Principal,
    RequestContext,
    RouteDecision,
    RoutingRequest,
    ScanFinding,
    SettingsGroup,
    Severity,
    StreamEvent,
    ToolSpec,
    Workspace,
    current_context,
    hookimpl,
    setting,
)
from automatos.extensions.cache.memory import MemoryKV, MemoryPubSub

NAME = "tests.everything"
EVENTS: list[tuple[str, str | None, dict[str, Any]]] = []
"""(event name, workspace id, config) for every ``on_event`` call: tests read and clear it."""
EVENT_CONTEXTS: list[RequestContext | None] = []
"""``current_context()`` as ``on_event`` saw it, call by call."""
LIFECYCLE: list[str] = []


class HeaderAuth:
    name = "test-header"
    priority = 10

    def authenticate(self, headers: Mapping[str, str]) -> Principal | None:
        raw = headers.get("x-test-user")
        if not raw:
            return None
        user, _, flag = raw.partition(";")
        return Principal(id=user, kind="user", auth_method=self.name, is_platform_admin=flag == "admin")


class EchoLLM:
    name = "test-echo"

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    async def complete(self, messages: Sequence[ChatMessage], *, model: str, **options: Any) -> Completion:
        return Completion(text=self.prefix + messages[-1].content, model=model)

    async def stream(
        self, messages: Sequence[ChatMessage], *, model: str, **options: Any
    ) -> AsyncIterator[StreamEvent]:
        words = messages[-1].content.split()
        for word in words:
            yield StreamEvent(delta=word)
        yield StreamEvent(finish_reason="stop", prompt_tokens=len(messages), completion_tokens=len(words))


class CountingEmbedder:
    name = "test-embed"
    dimensions = 2

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [[float(len(t)), 1.0] for t in texts]


class KeywordTier:
    name = "test-keyword"
    order = 5

    async def route(self, request: RoutingRequest, context: Any) -> RouteDecision | None:
        if "billing" in request.text:
            return RouteDecision(agent_id="billing-agent", confidence=0.9, tier=self.name)
        return None


class EchoTools:
    name = "test-tools"

    async def list_tools(self, workspace_id: str) -> Sequence[ToolSpec]:
        return [ToolSpec(name="echo", description="returns its input", provider=self.name)]

    async def execute(self, workspace_id: str, tool: str, arguments: Mapping[str, Any]) -> Any:
        return dict(arguments)


class TodoRule:
    id = "test-todo"
    severity = Severity.LOW

    def check(self, source: str, path: str) -> Sequence[ScanFinding]:
        return [
            ScanFinding(rule=self.id, severity=self.severity, message="TODO left", path=path, line=i + 1)
            for i, line in enumerate(source.splitlines())
            if "TODO" in line
        ]


@get("/api/test-everything/ping", sync_to_thread=False)
def ping() -> dict[str, str]:
    return {"pong": NAME}


@hookimpl
def register_auth_methods(register: Callable[[Any], None]) -> None:
    register(HeaderAuth())


@hookimpl
def register_blob_backends(register: Callable[[str, Any], None]) -> None:
    from automatos.extensions.storage.local import LocalBlobBackend

    register("everything", lambda ctx: LocalBlobBackend(ctx.settings.data_dir / "everything-blobs", b"k" * 32))


@hookimpl
def register_kv_backends(register: Callable[[str, Any], None]) -> None:
    register("everything", lambda ctx: MemoryKV())


@hookimpl
def register_pubsub_backends(register: Callable[[str, Any], None]) -> None:
    register("everything", lambda ctx: MemoryPubSub())


@hookimpl
def register_vector_backends(register: Callable[[str, Any], None]) -> None:
    from automatos.extensions.vectors.exact import ExactVectorBackend

    register("everything", lambda ctx: ExactVectorBackend(ctx.engine))


@hookimpl
def register_queue_backends(register: Callable[[str, Any], None]) -> None:
    from automatos.extensions.cache.redis import RedisQueueServer

    # builds clients only when a job is submitted or served: no server is needed to register it
    register("everything", lambda ctx: RedisQueueServer(ctx.settings.redis_url or "redis://127.0.0.1:6379/0"))


@hookimpl
async def register_llm_providers(register: Callable[[Any], None], config: Mapping[str, Any]) -> None:
    register(EchoLLM(prefix=str(config.get("prefix", ""))))


@hookimpl
def register_embedding_providers(register: Callable[[Any], None]) -> None:
    register(CountingEmbedder())


@hookimpl
def register_routing_tiers(register: Callable[[Any], None], workspace: Workspace) -> None:
    register(KeywordTier())


@hookimpl
def register_tool_providers(register: Callable[[Any], None]) -> None:
    register(EchoTools())


@hookimpl
def register_scan_rules(register: Callable[[Any], None]) -> None:
    register(TodoRule())


@hookimpl
def register_routes(register: Callable[[Any], None]) -> None:
    register(ping)


@hookimpl
async def startup(kernel: Any) -> None:
    LIFECYCLE.append("startup")


@hookimpl
def shutdown(kernel: Any) -> None:
    LIFECYCLE.append("shutdown")


class EverythingConfig(msgspec.Struct):
    """Its configuration: ``prefix`` must be a string; other keys are allowed (tests add their own)."""

    prefix: str = ""


@hookimpl
def extension_config_schema() -> type[EverythingConfig]:
    return EverythingConfig


class EverythingSettings(SettingsGroup, frozen=True, kw_only=True):
    """Its settings from the environment (``EVERYTHING_GREETING``), read by no code: tests look."""

    OWNER: ClassVar[str] = NAME
    FIELDS: ClassVar[tuple[Any, ...]] = (setting("EVERYTHING_GREETING", "everything_greeting", "any text"),)

    everything_greeting: str = "hello"
    """A greeting nobody reads."""


GREETING_LIMIT = Declared(
    key="everything.greeting_limit",
    scope="platform",
    kind="integer",
    default=3,
    description="How many greetings the everything extension would send (nothing reads it).",
    minimum=0,
    maximum=10,
)


@hookimpl
def register_settings(register: Callable[[Any], None]) -> None:
    register(EverythingSettings)
    register(GREETING_LIMIT)


MIGRATIONS = MigrationSource(name=NAME, versions=Path(__file__).parent / "everything_migrations")
"""No revision yet (an empty directory): its tables would join the graph from there."""


@hookimpl
def register_migrations(register: Callable[[Any], None]) -> None:
    register(MIGRATIONS)


@hookimpl
async def on_event(event: Event, workspace: Workspace | None, config: Mapping[str, Any]) -> None:
    EVENTS.append((event.name, workspace.id if workspace else None, dict(config)))
    EVENT_CONTEXTS.append(current_context())
