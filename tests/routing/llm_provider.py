"""A test extension with one LLM provider, ``test-router-llm``, answering what the test queued.

The llm tier's tests (``tests/routing/test_llm_tier.py``) make it the platform's ``LLM_PROVIDER``, so
the tier reaches it through ``context.complete`` like a real one. :data:`ANSWERS`: a string is the
answer, an exception is raised; when empty it answers :data:`DEFAULT`. :data:`PROMPTS` keeps what
it was sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from automatos import ChatMessage, Completion, StreamEvent, hookimpl

NAME = "tests.router-llm"
PROVIDER = "test-router-llm"
DEFAULT = "not json at all"
ANSWERS: list[str | Exception] = []
PROMPTS: list[list[ChatMessage]] = []
OPTIONS: list[dict[str, Any]] = []


class CannedRouterLLM:
    name = PROVIDER

    async def complete(self, messages: Sequence[ChatMessage], *, model: str, **options: Any) -> Completion:
        PROMPTS.append(list(messages))
        OPTIONS.append({"model": model, **options})
        answer = ANSWERS.pop(0) if ANSWERS else DEFAULT
        if isinstance(answer, Exception):
            raise answer
        return Completion(text=answer, model=model)

    async def stream(
        self, messages: Sequence[ChatMessage], *, model: str, **options: Any
    ) -> AsyncIterator[StreamEvent]:
        done = await self.complete(messages, model=model, **options)
        yield StreamEvent(delta=done.text)
        yield StreamEvent(finish_reason="stop")


@hookimpl
def register_llm_providers(register: Callable[[Any], None]) -> None:
    register(CannedRouterLLM())
