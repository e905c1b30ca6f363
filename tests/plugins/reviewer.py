"""A test extension with one LLM provider, ``test-reviewer``, that answers what the test queued.

Used by the LLM review's tests (``tests/marketplace/test_review.py``): the review reaches it through
the LLM-provider hook and a :class:`~automatos.llm.providers.ProviderResolver`, as it reaches the
platform's configured provider. Tests put answers in :data:`ANSWERS` (a string is the answer, an
exception is raised) and read the prompts it was sent in :data:`PROMPTS`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from automatos import ChatMessage, Completion, StreamEvent, hookimpl

NAME = "tests.reviewer"
ANSWERS: list[str | Exception] = []
PROMPTS: list[list[ChatMessage]] = []
OPTIONS: list[dict[str, Any]] = []


class CannedReviewer:
    name = "test-reviewer"

    async def complete(self, messages: Sequence[ChatMessage], *, model: str, **options: Any) -> Completion:
        PROMPTS.append(list(messages))
        OPTIONS.append({"model": model, **options})
        answer = ANSWERS.pop(0) if ANSWERS else '{"verdict": "safe", "risk": 0, "reasons": []}'
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
    register(CannedReviewer())
