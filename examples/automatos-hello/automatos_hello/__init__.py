"""automatos-hello: the smallest useful third-party extension."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from automatos import ChatMessage, Completion, Event, LLMProvider, StreamEvent, Workspace, hookimpl

__all__ = ["EVENT_COUNTS", "ShoutProvider"]

EVENT_COUNTS: Counter[str] = Counter()


class ShoutProvider:
    name = "hello-shout"

    def __init__(self, suffix: str = "") -> None:
        self.suffix = suffix

    async def complete(self, messages: Sequence[ChatMessage], *, model: str, **options: Any) -> Completion:
        text = messages[-1].content.upper() + self.suffix
        return Completion(text=text, model=model, prompt_tokens=len(messages), completion_tokens=len(text.split()))

    async def stream(
        self, messages: Sequence[ChatMessage], *, model: str, **options: Any
    ) -> AsyncIterator[StreamEvent]:
        words = messages[-1].content.upper().split()
        for word in words:
            yield StreamEvent(delta=word + " ")
        yield StreamEvent(finish_reason="stop", prompt_tokens=len(messages), completion_tokens=len(words))


@hookimpl
def register_llm_providers(register: Callable[[LLMProvider], None], config: Mapping[str, Any]) -> None:
    register(ShoutProvider(suffix=str(config.get("suffix", "!"))))


@hookimpl
def on_event(event: Event, workspace: Workspace | None) -> None:
    EVENT_COUNTS[workspace.id if workspace else "*"] += 1
