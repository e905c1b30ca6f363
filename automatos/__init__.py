"""Automatos: a multi-tenant platform for orchestrating AI agents, built on a small pluggy kernel.

An extension author needs only this module: ``hookimpl`` to mark implementations, the types
hooks exchange, and what an extension declares its parts with (``SettingsGroup``/``setting`` for
its settings, ``Declared`` for its platform/workspace settings, ``MigrationSource`` for its tables).
"""

from __future__ import annotations

from automatos.kernel.backends import (
    BackendContext,
    BlobBackend,
    BlobInfo,
    KVBackend,
    PubSubBackend,
    QueueBackend,
    Subscription,
    VectorBackend,
    VectorMatch,
)
from automatos.kernel.hookspecs import hookimpl
from automatos.kernel.parts import MigrationSource
from automatos.kernel.request_context import current_context
from automatos.kernel.settings import Secret, SettingsGroup, setting
from automatos.kernel.settings_registry import Declared
from automatos.kernel.types import (
    AgentProfile,
    AuthMethod,
    ChatMessage,
    Completion,
    ContentItem,
    ContentProvider,
    EmbeddingProvider,
    Event,
    LLMProvider,
    Principal,
    RequestContext,
    RouteDecision,
    RouteShortlist,
    RoutingContext,
    RoutingRequest,
    RoutingRule,
    RoutingTier,
    ScanFinding,
    ScanRule,
    Severity,
    StreamEvent,
    ToolProvider,
    ToolResult,
    ToolSpec,
    Workspace,
)

__version__ = "0.1.0"

__all__ = [
    "AgentProfile",
    "AuthMethod",
    "BackendContext",
    "BlobBackend",
    "BlobInfo",
    "ChatMessage",
    "Completion",
    "ContentItem",
    "ContentProvider",
    "Declared",
    "EmbeddingProvider",
    "Event",
    "KVBackend",
    "LLMProvider",
    "MigrationSource",
    "Principal",
    "PubSubBackend",
    "QueueBackend",
    "RequestContext",
    "RouteDecision",
    "RouteShortlist",
    "RoutingContext",
    "RoutingRequest",
    "RoutingRule",
    "RoutingTier",
    "ScanFinding",
    "ScanRule",
    "Secret",
    "SettingsGroup",
    "Severity",
    "StreamEvent",
    "Subscription",
    "ToolProvider",
    "ToolResult",
    "ToolSpec",
    "VectorBackend",
    "VectorMatch",
    "Workspace",
    "__version__",
    "current_context",
    "hookimpl",
    "setting",
]
