"""What the router gives every tier for one request: :class:`Context`, the
:class:`~automatos.kernel.types.RoutingContext` implementation, and the guarded decision cache.

- ``agents()`` and ``config`` come from the router's per-workspace cache (one sequence object while
  it is fresh: tiers may compare it by identity); ``rules()`` from the rules service.
- ``kv`` is the platform's KV backend behind :class:`GuardedKV`: each call bounded
  (:data:`KV_TIMEOUT_SECONDS`); a failure marks the cache down for a few seconds, during which the
  context's ``kv`` is ``None`` and the tiers that need it are *skipped* (not failed, and not asked).
- ``embed()`` uses the provider ``ROUTING_EMBEDDING_PROVIDER`` names, else ``local-e5`` when the
  workspace has it, else the hashed fallback ``offline``; ``complete()`` the workspace's default LLM
  provider and model (``LLM_PROVIDER``/``LLM_MODEL``), like a chat whose agent names none.
- ``now()`` is the router's clock (tests inject one).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import CoroutineType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from automatos.kernel.backends import KVBackend, VectorBackend
from automatos.kernel.errors import ProviderError
from automatos.kernel.faults import FailOpen
from automatos.kernel.hooks import resume
from automatos.kernel.types import AgentProfile, ChatMessage, Completion, EmbeddingProvider, RoutingRule, Workspace
from automatos.llm.settings import LLMSettings

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel
    from automatos.llm.providers import ProviderResolver

__all__ = ["KV_TIMEOUT_SECONDS", "Context", "GuardedKV", "RulesSource", "pick_embedder"]

log = logging.getLogger("automatos.routing")

KV_TIMEOUT_SECONDS = 0.5
"""A decision-cache call slower than this counts as the cache being down."""
PREFERRED_EMBEDDER = "local-e5"
FALLBACK_EMBEDDER = "offline"

T = TypeVar("T")


class RulesSource(Protocol):
    """The rules service (``automatos.routing.rules``): a workspace's active routing rules, cached."""

    async def rules_for(self, workspace_id: str) -> list[RoutingRule]: ...


class GuardedKV(KVBackend):
    """The platform's KV backend, each call bounded; a failure marks :attr:`guard` down and re-raises."""

    def __init__(self, inner: KVBackend, guard: FailOpen) -> None:
        self.inner = inner
        self.guard = guard

    async def _call(self, action: Callable[[], Awaitable[T]]) -> T:
        try:
            value = action()
            if type(value) is CoroutineType:
                # one step first: an in-process backend answers without waiting, and needs no timer
                try:
                    pending = value.send(None)
                except StopIteration as done:
                    result: T = done.value
                    return result
                value = resume(value, pending)
            async with asyncio.timeout(KV_TIMEOUT_SECONDS):
                return await value
        except Exception as exc:
            self.guard.failed(exc)
            raise

    async def get(self, key: str) -> bytes | None:
        return await self._call(lambda: self.inner.get(key))

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        await self._call(lambda: self.inner.set(key, value, ttl=ttl))

    async def delete(self, key: str) -> bool:
        return await self._call(lambda: self.inner.delete(key))

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        return await self._call(lambda: self.inner.incr(key, amount, ttl=ttl))

    async def ttl(self, key: str) -> float | None:
        return await self._call(lambda: self.inner.ttl(key))

    def with_namespace(self, namespace: str) -> KVBackend:
        return GuardedKV(self.inner.with_namespace(namespace), self.guard)


def pick_embedder(providers: Mapping[str, EmbeddingProvider], wanted: str) -> EmbeddingProvider:
    """The embedding provider ``wanted`` names, else ``local-e5``, else ``offline``, else any."""
    for name in (wanted, PREFERRED_EMBEDDER, FALLBACK_EMBEDDER):
        if name and name in providers:
            return providers[name]
    if wanted:
        raise ProviderError(wanted, "not_enabled", f"embedding provider {wanted!r} is not available here")
    if not providers:
        raise ProviderError("embeddings", "not_enabled", "this workspace has no embedding provider")
    return next(iter(providers.values()))


class Context:
    """One request's :class:`~automatos.kernel.types.RoutingContext`."""

    def __init__(
        self,
        *,
        kernel: Kernel,
        providers: ProviderResolver,
        workspace: Workspace,
        config: Mapping[str, Any],
        profiles: Sequence[AgentProfile],
        rules: RulesSource | None,
        kv: KVBackend | None,
        vectors: VectorBackend | None,
        embedder: str,
        clock: Callable[[], float],
    ) -> None:
        self.kernel = kernel
        self.providers = providers
        self.workspace = workspace
        self.config = config
        self.kv = kv
        self.vectors = vectors
        self._profiles = profiles
        self._rules = rules
        self._embedder = embedder
        self._clock = clock

    async def agents(self) -> Sequence[AgentProfile]:
        return self._profiles

    async def rules(self) -> Sequence[RoutingRule]:
        if self._rules is None:
            return []
        return await self._rules.rules_for(self.workspace.id)

    async def embed(self, texts: Sequence[str]) -> tuple[str, list[list[float]]]:
        collected = await self.providers.embedding_providers(self.workspace)
        provider = pick_embedder(collected.items, self._embedder)
        vectors = await provider.embed(list(texts))
        model = getattr(provider, "model", None)
        return f"{provider.name}/{model}" if model else provider.name, vectors

    async def complete(self, messages: Sequence[ChatMessage], *, max_tokens: int = 200) -> Completion:
        own = self.kernel.current_settings.group(LLMSettings)
        collected = await self.providers.llm_providers(self.workspace)
        provider = collected.items.get(own.llm_provider)
        if provider is None:
            raise ProviderError(own.llm_provider, "not_enabled", "the workspace's LLM provider is not available here")
        return await provider.complete(messages, model=own.llm_model, max_tokens=max_tokens, temperature=0.0)

    def now(self) -> float:
        return self._clock()
