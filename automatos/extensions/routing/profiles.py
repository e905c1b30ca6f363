"""Agents' profile embeddings in the vector backend, kept in step with the agents (the semantic tier's index).

Two collections per workspace, both in the platform's vector backend (so pgvector on PostgreSQL, the
``exact`` backend on the embedded default, and every API node shares them):

- :data:`COLLECTION` (``routing-agent-profiles``): one vector per active agent, id = agent id,
  metadata ``{"profile_sha256", "model"}`` — what the tier queries.
- :data:`LEDGER` (``routing-agent-profiles.ledger``): the same ids with a constant one-dimensional
  vector and metadata ``{"profile_sha256", "model", "dimensions"}``. It lists what is stored whatever
  the embedding model's length (a query needs a vector of the stored length, which after a model
  change nobody has), so a process that starts, or an index that changes model, reads it in one query.

Decisions:
- **Only what changed is embedded, in one batch.** An agent is re-embedded when the SHA-256 of its
  profile text or the model id ``context.embed`` answers with differs from the ledger's; agents no
  longer active are deleted (ledger first, then the vector: a crash in between leaves at worst an
  orphan vector, which is never returned because results are filtered to active agents, and which a
  change of model length clears).
- **Steady state costs nothing.** What is known to be stored is cached per ``(backend, workspace)``
  in process memory; when ``context.agents()`` returns the same sequence object as last time (the
  router caches it), the check is one identity comparison, otherwise one dict look-up per agent
  (hashes are reused while an agent's text is unchanged). The ledger is re-read after
  :data:`LEDGER_TTL_SECONDS` (the router's clock) so a change another node made (an agent deleted
  there, then restored) is noticed.
- **One re-index at a time per workspace, and it outlives a cancelled route.** Concurrent routes of a
  workspace await the same task; it is shielded, so a route that times out does not cancel the
  re-index and the next route finds it done.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field

from automatos.kernel.backends import VectorBackend
from automatos.kernel.errors import ValidationError
from automatos.kernel.types import AgentProfile, RoutingContext

__all__ = ["COLLECTION", "LEDGER", "LEDGER_TTL_SECONDS", "ProfileIndex", "index_for", "profile_text"]

log = logging.getLogger("automatos.routing.semantic")

COLLECTION = "routing-agent-profiles"
LEDGER = "routing-agent-profiles.ledger"
LEDGER_TTL_SECONDS = 120.0
"""How long the in-process copy of the ledger is trusted before it is read again."""
_UNIT = [1.0]


def profile_text(agent: AgentProfile) -> str:
    """What is embedded for an agent: its profile text, or its name when it has none."""
    return agent.text.strip() or agent.name


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Stored:
    sha: str
    model: str
    dimensions: int


@dataclass
class ProfileIndex:
    """What one workspace has stored in one vector backend, as far as this process knows."""

    backend: VectorBackend
    workspace_id: str
    known: dict[str, Stored] | None = None
    """Agent id → what is stored; ``None`` until the ledger is read."""
    read_at: float = float("-inf")
    synced: tuple[int, str] | None = None
    """``(id(agents sequence), model)`` of the last check that found nothing to do."""
    _agents_ref: object = None
    _hashes: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Agent id → (text, sha) — the last hash computed, reused while the text is the same."""
    _task: asyncio.Task[None] | None = None
    embeds: int = 0
    """Embedding calls this index made (re-indexes), for tests and benchmarks."""

    def stale(self) -> None:
        """Forget what is stored: the next route reads the ledger again."""
        self.known = None
        self.synced = None

    def _hash(self, agent: AgentProfile) -> tuple[str, str]:
        text = profile_text(agent)
        cached = self._hashes.get(agent.id)
        if cached is not None and (cached[0] is text or cached[0] == text):
            return cached
        entry = (text, _sha(text))
        self._hashes[agent.id] = entry
        return entry

    def _work(self, agents: Sequence[AgentProfile], model: str) -> tuple[list[AgentProfile], list[str]]:
        known = self.known or {}
        changed = []
        for agent in agents:
            stored = known.get(agent.id)
            if stored is None or stored.model != model or stored.sha != self._hash(agent)[1]:
                changed.append(agent)
        active = {agent.id for agent in agents}
        removed = sorted(item for item in known if item not in active)
        for item in [item for item in self._hashes if item not in active]:
            del self._hashes[item]
        return changed, removed

    async def ensure(self, agents: Sequence[AgentProfile], model: str, context: RoutingContext) -> None:
        """Make the stored vectors match ``agents`` under ``model`` (a no-op in the steady state)."""
        now = context.now()
        if self.known is not None and now - self.read_at > LEDGER_TTL_SECONDS:
            self.stale()
        marker = (id(agents), model)
        if self.synced == marker and self._agents_ref is agents:
            return
        while True:
            task = self._task
            if task is None or task.done():
                if self.known is not None and not any(self._work(agents, model)):
                    break
                task = asyncio.ensure_future(self._reindex(agents, model, context))
                self._task = task
                await asyncio.shield(task)
                break
            # Another route's re-index is under way: wait for it, then check against our agents.
            await asyncio.shield(task)
        self.synced, self._agents_ref = marker, agents

    async def _read_ledger(self, now: float) -> None:
        total = await self.backend.count(self.workspace_id, LEDGER)
        known: dict[str, Stored] = {}
        if total:
            for match in await self.backend.query(self.workspace_id, LEDGER, _UNIT, top_k=total):
                meta = match.metadata
                try:
                    known[match.id] = Stored(str(meta["profile_sha256"]), str(meta["model"]), int(meta["dimensions"]))
                except (KeyError, TypeError, ValueError):
                    known[match.id] = Stored("", "", 0)  # unreadable: re-embedded
        self.known, self.read_at = known, now

    async def _reindex(self, agents: Sequence[AgentProfile], model: str, context: RoutingContext) -> None:
        if self.known is None:
            await self._read_ledger(context.now())
        changed, removed = self._work(agents, model)
        known = dict(self.known or {})
        ws, backend = self.workspace_id, self.backend
        if removed:
            await backend.delete(ws, LEDGER, removed)
            await backend.delete(ws, COLLECTION, removed)
            for item in removed:
                known.pop(item, None)
            self.known = dict(known)
        if not changed:
            return
        texts = [self._hash(agent) for agent in changed]
        self.embeds += 1
        embedded_model, vectors = await context.embed([text for text, _ in texts])
        if len(vectors) != len(changed):
            raise RuntimeError(f"the embedder returned {len(vectors)} vectors for {len(changed)} texts")
        dimensions = len(vectors[0])
        items = [
            (agent.id, vector, {"profile_sha256": sha, "model": embedded_model})
            for agent, vector, (_, sha) in zip(changed, vectors, texts, strict=True)
        ]
        try:
            await backend.upsert(ws, COLLECTION, items)
        except ValidationError:
            # Vectors of another length remain that the ledger does not list (an interrupted
            # delete): list the collection with a probe of each stored length, clear it, retry.
            await self._clear_collection({stored.dimensions for stored in known.values()} - {dimensions})
            await backend.upsert(ws, COLLECTION, items)
        await backend.upsert(
            ws,
            LEDGER,
            [(agent_id, _UNIT, {**meta, "dimensions": dimensions}) for agent_id, _, meta in items],
        )
        for agent_id, _, meta in items:
            known[agent_id] = Stored(meta["profile_sha256"], embedded_model, dimensions)
        self.known = known
        log.info("routing profiles of workspace %s: %d embedded, %d removed", ws, len(items), len(removed))

    async def _clear_collection(self, lengths: set[int]) -> None:
        total = await self.backend.count(self.workspace_id, COLLECTION)
        for length in sorted(n for n in lengths if n > 0):
            probe = [1.0] + [0.0] * (length - 1)
            try:
                matches = await self.backend.query(self.workspace_id, COLLECTION, probe, top_k=max(total, 1))
            except ValidationError:
                continue
            await self.backend.delete(self.workspace_id, COLLECTION, [m.id for m in matches])


_INDEXES: weakref.WeakKeyDictionary[VectorBackend, dict[str, ProfileIndex]] = weakref.WeakKeyDictionary()


def index_for(backend: VectorBackend, workspace_id: str) -> ProfileIndex:
    """The process's index of ``workspace_id`` in ``backend`` (shared by every tier instance)."""
    per_backend = _INDEXES.get(backend)
    if per_backend is None:
        per_backend = _INDEXES[backend] = {}
    index = per_backend.get(workspace_id)
    if index is None:
        index = per_backend[workspace_id] = ProfileIndex(backend, workspace_id)
    return index
