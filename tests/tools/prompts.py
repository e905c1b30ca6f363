"""What the model receives: a recording provider put in front of the offline one.

:func:`record_prompts` wraps the app's LLM provider resolution so that every turn's messages
are kept; :meth:`Recorder.system` is the last turn's system prompt.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from automatos.kernel.core import Kernel
from automatos.kernel.hooks import Collected
from automatos.kernel.types import ChatMessage, Completion, StreamEvent, Workspace
from tests.helpers import AppClient, container_of

__all__ = ["Recorder", "record_prompts"]


class Recorder:
    """The offline provider, remembering the messages of each call."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.seen: list[list[ChatMessage]] = []
        self.options: list[dict[str, Any]] = []
        """The options of each call (``tools``, ``tool_choice``…), as :attr:`seen`."""

    async def complete(self, messages: Sequence[ChatMessage], *, model: str, **options: Any) -> Completion:
        self.seen.append(list(messages))
        self.options.append(dict(options))
        result: Completion = await self.inner.complete(messages, model=model, **options)
        return result

    async def stream(
        self, messages: Sequence[ChatMessage], *, model: str, **options: Any
    ) -> AsyncIterator[StreamEvent]:
        self.seen.append(list(messages))
        self.options.append(dict(options))
        async for event in self.inner.stream(messages, model=model, **options):
            yield event

    def system(self) -> str:
        first = self.seen[-1][0]
        assert first.role == "system"
        return first.content


async def record_prompts(client: AppClient, workspace_id: str) -> Recorder:
    """Put a :class:`Recorder` in front of the offline provider of ``client``'s app."""
    kernel: Kernel = client.app.state["kernel"]
    resolver = container_of(client).llm_providers()
    original = resolver.llm_providers
    recorder: Recorder | None = None

    async def providers(workspace: Workspace) -> Collected[Any]:
        nonlocal recorder
        got = await original(workspace)
        if recorder is None:
            recorder = Recorder(got.items["offline"])
        return Collected(items={**got.items, "offline": recorder}, sources=dict(got.sources))

    resolver.llm_providers = providers  # type: ignore[method-assign]
    workspace = await kernel.directory.workspace(workspace_id)
    assert workspace is not None
    await providers(workspace)
    assert recorder is not None
    return recorder
