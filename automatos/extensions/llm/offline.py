"""The offline providers: the embedded default, for demos, development and tests.

Nothing here calls a model or the network. Both providers are named ``offline`` and every model id
says so (``offline-echo``, ``offline-summary``, ``offline-hashed-bow-256``), so an answer or a vector
can never be mistaken for a real model's.

Decisions:
- **Answers** are a deterministic function of the conversation, prefixed ``[offline]``:
  ``offline-echo`` repeats the last user message, ``offline-summary`` restates it in a line (its
  first sentence, how many messages the conversation has, its most frequent words outside the
  system prompt). Any other model
  id is answered as ``offline-echo`` and the completion reports ``offline-echo`` as its model: an
  agent configured for a model this provider does not have still gets an honestly labelled answer.
- **Tokens are words**: a token is a run of non-space characters with the spaces before it, so the
  deltas of a stream concatenate to exactly the text :meth:`OfflineProvider.complete` returns.
  Usage counts them (prompt: every message's words; completion: the answer's). ``max_tokens``
  truncates the answer to that many words and the finish reason becomes ``length``.
- It never fails on a well-formed request. It refuses, as ``bad_request``, an empty conversation
  and a ``max_tokens`` below 1 — what a real provider refuses too.
- ``stream`` yields to the event loop between words, so many concurrent streams interleave and a
  consumer that stops iterating stops the generation. Workspace config ``delay`` (seconds per word,
  at most 1) gives demos a typing effect.
- **Tool calls, deterministic** (so the tool loop is testable with no network). When the request
  offers ``tools`` and the last user message has lines ``/tool NAME {json arguments}`` (the
  arguments optional: ``{}``), the answer is those calls (``finish_reason`` ``tool_calls``, ids
  ``call_`` + 12 hex characters of a digest of the message, the line and its position), whatever
  ``NAME`` is — a call of a tool that was not offered, or arguments that are not JSON, are passed
  on as written, for the caller to refuse. A line ``/then`` starts the next round: after the
  first round's results, the second round's calls, and so on. Once every round has its results,
  the answer is text: ``[offline] tool results:`` and each result of the last round as
  ``NAME → content``. Without ``tools`` (or ``tool_choice`` ``none``) the lines are ordinary text.
- **Embeddings** are *not semantic*: a hashed bag of words. Each lower-cased word (Unicode ``\\w+``)
  is hashed with BLAKE2b (stable across processes, unlike :func:`hash`) to one of ``dimensions``
  buckets (256 unless config ``dimensions`` says otherwise, 8-4096) with a sign taken from the hash,
  and the vector is L2-normalised. Texts that share words get a higher cosine similarity; synonyms
  and paraphrases do not. An empty text (no words) maps to a fixed unit vector, so it is still a
  valid vector every backend can index.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Annotated, Any

import msgspec

from automatos.kernel.errors import ProviderError
from automatos.kernel.hookspecs import hookimpl
from automatos.kernel.types import ChatMessage, Completion, EmbeddingProvider, LLMProvider, StreamEvent, ToolCall

__all__ = [
    "EMBEDDING_MODEL",
    "MODELS",
    "OfflineConfig",
    "OfflineEmbeddingProvider",
    "OfflineProvider",
    "extension_config_schema",
    "register_embedding_providers",
    "register_llm_providers",
]

NAME = "offline"
MODELS = ("offline-echo", "offline-summary")
"""The model ids this provider answers as; the first is the fallback for any other id."""
EMBEDDING_MODEL = "offline-hashed-bow"
PREFIX = "[offline]"

_TOKEN = re.compile(r"\s*\S+")
_TOOL_LINE = re.compile(r"^/tool[ \t]+(\S+)[ \t]*(.*)$")
_WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")
_STOP_WORDS = frozenset(
    "a an and are as at be but by can do for from how i in is it me my of on or so that the this to "
    "was we what when where which who why will with you your".split()
)


def _tokens(text: str) -> list[str]:
    """Words with the spaces before them: joined, they give back ``text`` without trailing space."""
    return _TOKEN.findall(text)


def _count(messages: Sequence[ChatMessage]) -> int:
    return sum(len(_tokens(m.content)) for m in messages)


class OfflineProvider:
    """Deterministic answers from the conversation itself; see the module docstring."""

    name = NAME

    def __init__(self, *, delay: float = 0.0) -> None:
        self.delay = delay
        """Seconds to wait before each streamed word (a demo's typing effect)."""

    def _answer(self, messages: Sequence[ChatMessage], model: str, options: Mapping[str, Any]) -> tuple[str, list[str]]:
        """The model used and the answer's tokens (not yet truncated)."""
        if not messages:
            raise ProviderError(NAME, "bad_request", "the conversation has no messages")
        max_tokens = options.get("max_tokens")
        if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int)):
            raise ProviderError(NAME, "bad_request", f"max_tokens must be an integer, not {max_tokens!r}")
        if max_tokens is not None and max_tokens < 1:
            raise ProviderError(NAME, "bad_request", f"max_tokens must be at least 1, not {max_tokens}")
        used = model if model in MODELS else MODELS[0]
        results = _last_results(messages)
        if results:
            return used, _tokens(f"{PREFIX} tool results: " + "; ".join(results))
        users = [m for m in messages if m.role == "user"]
        last = (users[-1] if users else messages[-1]).content.strip()
        if used == "offline-summary":
            text = f"{PREFIX} {_summary(messages, last)}"
        else:
            text = f"{PREFIX} {last}" if last else f"{PREFIX} (the last message was empty)"
        return used, _tokens(text)

    async def complete(self, messages: Sequence[ChatMessage], *, model: str, **options: Any) -> Completion:
        calls = _tool_calls(messages, options)
        if calls:
            return Completion(
                text="",
                model=model if model in MODELS else MODELS[0],
                prompt_tokens=_count(messages),
                completion_tokens=sum(len(_tokens(f"{c.name} {c.arguments}")) for c in calls),
                finish_reason="tool_calls",
                tool_calls=calls,
            )
        used, tokens = self._answer(messages, model, options)
        kept, finish = _truncate(tokens, options.get("max_tokens"))
        return Completion(
            text="".join(kept),
            model=used,
            prompt_tokens=_count(messages),
            completion_tokens=len(kept),
            finish_reason=finish,
        )

    async def stream(
        self, messages: Sequence[ChatMessage], *, model: str, **options: Any
    ) -> AsyncIterator[StreamEvent]:
        calls = _tool_calls(messages, options)
        if calls:
            await asyncio.sleep(self.delay)
            used = sum(len(_tokens(f"{c.name} {c.arguments}")) for c in calls)
            yield StreamEvent(
                finish_reason="tool_calls", prompt_tokens=_count(messages), completion_tokens=used, tool_calls=calls
            )
            return
        _, tokens = self._answer(messages, model, options)
        kept, finish = _truncate(tokens, options.get("max_tokens"))
        for token in kept:
            # Yield to the loop between words even without a delay: concurrent streams interleave.
            await asyncio.sleep(self.delay)
            yield StreamEvent(delta=token)
        yield StreamEvent(finish_reason=finish, prompt_tokens=_count(messages), completion_tokens=len(kept))


def _rounds(text: str) -> list[list[tuple[str, str]]]:
    """The ``/tool`` lines of a message, grouped into rounds by ``/then`` lines."""
    rounds: list[list[tuple[str, str]]] = [[]]
    for line in text.splitlines():
        line = line.strip()
        if line == "/then":
            rounds.append([])
            continue
        match = _TOOL_LINE.match(line)
        if match:
            rounds[-1].append((match.group(1), match.group(2).strip() or "{}"))
    return [r for r in rounds if r]


def _since_last_user(messages: Sequence[ChatMessage]) -> tuple[ChatMessage | None, list[ChatMessage]]:
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].role == "user":
            return messages[i], list(messages[i + 1 :])
    return None, list(messages)


def _tool_calls(messages: Sequence[ChatMessage], options: Mapping[str, Any]) -> tuple[ToolCall, ...]:
    """The calls of the next round (see the module docstring), or none."""
    if not options.get("tools") or options.get("tool_choice") == "none":
        return ()
    user, after = _since_last_user(messages)
    if user is None:
        return ()
    rounds = _rounds(user.content)
    done = sum(1 for m in after if m.role == "assistant" and m.tool_calls)
    if done >= len(rounds):
        return ()
    seed = hashlib.sha256(user.content.encode("utf-8", "replace")).hexdigest()
    return tuple(
        ToolCall(
            id="call_" + hashlib.sha256(f"{seed}:{done}:{i}:{name}".encode()).hexdigest()[:12],
            name=name,
            arguments=arguments,
        )
        for i, (name, arguments) in enumerate(rounds[done])
    )


def _last_results(messages: Sequence[ChatMessage]) -> list[str]:
    """``NAME → content`` for the tool results after the last assistant message that called tools."""
    _, after = _since_last_user(messages)
    last = max((i for i, m in enumerate(after) if m.role == "assistant" and m.tool_calls), default=None)
    if last is None:
        return []
    names = {call.id: call.name for call in after[last].tool_calls}
    return [
        f"{m.name or names.get(m.tool_call_id or '', m.tool_call_id)} → {m.content}"
        for m in after[last + 1 :]
        if m.role == "tool"
    ]


def _truncate(tokens: list[str], max_tokens: int | None) -> tuple[list[str], str]:
    if max_tokens is not None and len(tokens) > max_tokens:
        return tokens[:max_tokens], "length"
    return tokens, "stop"


def _summary(messages: Sequence[ChatMessage], last: str) -> str:
    first_sentence = _SENTENCE_END.split(last, maxsplit=1)[0] if last else ""
    said = " ".join(m.content for m in messages if m.role != "system").lower()
    words = [w for w in _WORD.findall(said) if w not in _STOP_WORDS]
    top = [w for w, _ in sorted(Counter(words).items(), key=lambda kv: (-kv[1], kv[0]))[:5]]
    parts = [f'You wrote: "{first_sentence}".' if first_sentence else "The last message was empty."]
    parts.append(f"The conversation has {len(messages)} message{'s' if len(messages) != 1 else ''}")
    parts.append(f"about {', '.join(top)}." if top else "and no words to summarise.")
    return " ".join(parts)


class OfflineEmbeddingProvider:
    """Hashed bag of words, L2-normalised. Lexical, **not semantic**: see the module docstring."""

    name = NAME

    def __init__(self, dimensions: int = 256) -> None:
        self.dimensions = dimensions
        self.model = f"{EMBEDDING_MODEL}-{dimensions}"

    def _vector(self, text: str) -> list[float]:
        vector = [0.0] * self.dimensions
        for word, count in Counter(_WORD.findall(text.lower())).items():
            digest = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big")
            sign = 1.0 if digest & 1 else -1.0
            # Sub-linear in the count: a word said ten times is not ten times the topic.
            vector[(digest >> 1) % self.dimensions] += sign * (1.0 + math.log(count))
        norm = math.sqrt(sum(x * x for x in vector))
        if norm == 0.0:
            vector[0] = 1.0
            return vector
        return [x / norm for x in vector]

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [self._vector(text) for text in texts]


class OfflineConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A workspace's configuration of the offline providers, checked when it is written."""

    delay: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.0
    """Seconds before each streamed word (a demo's typing effect), at most 1."""
    dimensions: Annotated[int, msgspec.Meta(ge=8, le=4096)] = 256
    """Length of the embedding vectors."""


@hookimpl
def extension_config_schema() -> type[OfflineConfig]:
    return OfflineConfig


def _number(config: Mapping[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(f"offline: config {key!r} must be a number from {low} to {high}, not {value!r}")
    return float(value)


@hookimpl
def register_llm_providers(register: Callable[[LLMProvider], None], config: Mapping[str, Any]) -> None:
    register(OfflineProvider(delay=_number(config, "delay", 0.0, 0.0, 1.0)))


@hookimpl
def register_embedding_providers(register: Callable[[EmbeddingProvider], None], config: Mapping[str, Any]) -> None:
    dimensions = config.get("dimensions", 256)
    if isinstance(dimensions, bool) or not isinstance(dimensions, int) or not 8 <= dimensions <= 4096:
        raise ValueError(f"offline: config 'dimensions' must be an integer from 8 to 4096, not {dimensions!r}")
    register(OfflineEmbeddingProvider(dimensions))
