"""What chat answers with and passes between its parts: session, message and usage records, a turn's
result, the settings a turn reads before it starts, and the record of how a turn ended.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

__all__ = [
    "MessageRecord",
    "SessionRecord",
    "TurnEnd",
    "TurnResult",
    "TurnSettings",
    "UsageRecord",
    "UsageTotals",
]


class SessionRecord(msgspec.Struct, kw_only=True):
    id: str
    agent_id: str
    title: str
    status: str
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class MessageRecord(msgspec.Struct, kw_only=True):
    id: str
    session_id: str
    role: str
    content: str
    status: str
    error: dict[str, Any] | None
    provider: str | None
    model: str | None
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str | None
    created_at: datetime
    tool_call: dict[str, Any] | None = None
    """On a ``tool`` message: the call it answers (``id``, ``name``, ``arguments``, ``ok``,
    ``error``, ``truncated``, ``ran``, ``ms``); its ``content`` is the result the model saw."""


class UsageRecord(msgspec.Struct, kw_only=True):
    id: str
    agent_id: str | None
    session_id: str | None
    message_id: str | None
    provider: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost: float
    status: str
    created_at: datetime


class UsageTotals(msgspec.Struct, kw_only=True):
    calls: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost: float


class TurnResult(msgspec.Struct, kw_only=True):
    text: str
    provider: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    cost: float
    status: str
    message_id: str | None
    session_id: str | None
    user_message_id: str | None

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class TurnSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What a turn reads from the platform settings and the prompt registry, read before its session."""

    max_message_chars: int
    history_limit: int
    title_chars: int
    temperature: float | None
    max_tokens: int
    base_prompt: str
    """The registry's ``agent.base`` (empty when it is missing)."""
    tool_max_calls: int = 8
    tool_seconds: float = 60.0
    tool_result_chars: int = 16_000
    tool_meta_threshold: int = 20
    """More tools than this: the model gets ``search_tools`` and ``call_tool`` instead."""


class TurnEnd(msgspec.Struct, frozen=True, kw_only=True):
    """How a turn ended, as one transaction writes it: the assistant message's final state and the usage row."""

    text: str
    status: str
    """``complete``, ``error`` or ``cancelled``."""
    problem: dict[str, Any] | None
    """The provider's failure (``provider``, ``kind``, ``detail``) of an ``error``."""
    model: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    cost: float
