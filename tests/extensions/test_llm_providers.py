"""LLM and embedding providers: one contract suite over offline, OpenAI and Anthropic, then each one's own.

OpenAI and Anthropic run through their real SDKs against the two small servers below, which speak
the wire formats (JSON answers, server-sent events, error bodies and headers) on 127.0.0.1. Nothing
reaches the internet. The servers answer by model name: ``echo-*`` answers ``echo: <last user
message>`` (one token per word, ``max_tokens`` honoured), ``fail-*`` fail in the named way, ``slow``
answers after a second, ``stream-error`` fails in the middle of a stream. Their 401 bodies repeat
the key they were given in full, so redaction is tested against the worst case.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import math
import secrets
import socket
import struct
import threading
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn

from automatos import ChatMessage, EmbeddingProvider, LLMProvider, StreamEvent, Workspace
from automatos.extensions.llm import anthropic as anthropic_ext
from automatos.extensions.llm import openai as openai_ext
from automatos.extensions.llm.anthropic import AnthropicConnection, AnthropicProvider
from automatos.extensions.llm.offline import OfflineEmbeddingProvider, OfflineProvider
from automatos.extensions.llm.openai import OpenAIConnection, OpenAIEmbeddingProvider, OpenAIProvider
from automatos.kernel.errors import ProviderError
from automatos.kernel.hooks import Hooks, HookView
from automatos.kernel.registry import ESSENTIAL, Registry
from automatos.kernel.settings import Settings, load_settings
from automatos.kernel.types import ExtensionState, ToolCall, ToolSpec

KEY = "sk-test-" + secrets.token_hex(16)
"""The key the fake servers accept."""
WRONG_KEY = "sk-wrong-" + secrets.token_hex(16)
WS = Workspace(id="ws-llm", slug="llm", name="LLM")

ASGIReceive = Callable[[], Awaitable[dict[str, Any]]]
ASGISend = Callable[[dict[str, Any]], Awaitable[None]]


# --- fake APIs ----------------------------------------------------------------------------------


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class FakeAPI:
    """An ASGI app that records each request; subclasses speak one vendor's wire format."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []

    def seen(self, model: str | None = None) -> list[Seen]:
        return [r for r in self.requests if model is None or r.body.get("model") == model]

    async def __call__(self, scope: dict[str, Any], receive: ASGIReceive, send: ASGISend) -> None:
        assert scope["type"] == "http"
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen = Seen(
            scope["path"],
            {k.decode().lower(): v.decode() for k, v in scope["headers"]},
            json.loads(raw) if raw else {},
        )
        self.requests.append(seen)
        await self.handle(seen, send)

    async def handle(self, seen: Seen, send: ASGISend) -> None:
        raise NotImplementedError


async def send_json(send: ASGISend, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
    data = json.dumps(body).encode()
    extra = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json"), *extra]}
    )
    await send({"type": "http.response.body", "body": data})


async def send_events(send: ASGISend, events: Sequence[bytes]) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
    for event in events:
        await send({"type": "http.response.body", "body": event, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def echo_answer(messages: Sequence[dict[str, Any]], max_tokens: int | None) -> tuple[list[str], int, bool]:
    """The fakes' answer: ``echo: <last user message>``, one token per word; (words, prompt, truncated)."""
    last = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    words = f"echo: {last}".split()
    prompt = sum(len(str(m["content"]).split()) for m in messages)
    if max_tokens is not None and len(words) > max_tokens:
        return words[:max_tokens], prompt, True
    return words, prompt, False


def tool_round(messages: Sequence[dict[str, Any]]) -> list[tuple[str, str]] | None:
    """The fakes' tool calls, as the offline provider makes them: lines ``/tool NAME {json}`` of the
    last user message, rounds split by ``/then``; the next round without results yet, else ``None``."""
    last = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=None)
    if last is None:
        return None
    rounds: list[list[tuple[str, str]]] = [[]]
    for line in str(messages[last]["content"]).splitlines():
        if line.strip() == "/then":
            rounds.append([])
        elif line.startswith("/tool "):
            name, _, arguments = line[len("/tool ") :].partition(" ")
            rounds[-1].append((name, arguments.strip() or "{}"))
    rounds = [r for r in rounds if r]
    done = sum(1 for m in messages[last + 1 :] if m["role"] == "assistant" and m.get("tool_calls"))
    return rounds[done] if done < len(rounds) else None


def tool_results(messages: Sequence[dict[str, Any]]) -> str:
    """``tool results: NAME → content; …`` for the results after the last call, '' when none."""
    names: dict[str, str] = {}
    results: list[str] = []
    for m in messages:
        if m["role"] == "assistant" and m.get("tool_calls"):
            names = {c["id"]: c["function"]["name"] for c in m["tool_calls"]}
            results = []
        elif m["role"] == "tool":
            results.append(f"{names.get(m['tool_call_id'], '?')} → {m['content']}")
        elif m["role"] == "user":
            names, results = {}, []
    return f"tool results: {'; '.join(results)}" if results else ""


def neutral(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Anthropic's turns in the Chat Completions shape :func:`tool_round` and :func:`tool_results`
    read: ``tool_use`` blocks as an assistant's ``tool_calls``, ``tool_result`` blocks as ``tool``
    messages."""
    out: list[dict[str, Any]] = []
    for m in messages:
        content = m["content"]
        if isinstance(content, str):
            out.append({"role": m["role"], "content": content})
            continue
        text = "".join(b.get("text", "") for b in content if b["type"] == "text")
        uses = [b for b in content if b["type"] == "tool_use"]
        results = [b for b in content if b["type"] == "tool_result"]
        if uses:
            calls = [
                {"id": b["id"], "function": {"name": b["name"], "arguments": json.dumps(b["input"])}} for b in uses
            ]
            out.append({"role": "assistant", "content": text, "tool_calls": calls})
        elif text or not results:
            out.append({"role": m["role"], "content": text})
        out += [{"role": "tool", "tool_call_id": b["tool_use_id"], "content": b["content"]} for b in results]
    return out


def deltas(words: Sequence[str]) -> list[str]:
    return [w if i == 0 else f" {w}" for i, w in enumerate(words)]


def fake_vector(text: str, dimensions: int) -> list[float]:
    """The fake embeddings: float32-exact values derived from the text."""
    seed = hashlib.sha256(text.encode()).digest()
    return [struct.unpack("<f", struct.pack("<f", (seed[i % 32] - 128) / 128.0))[0] for i in range(dimensions)]


class FakeOpenAI(FakeAPI):
    """``/v1/chat/completions`` (JSON and SSE ``data:`` chunks, ``[DONE]``) and ``/v1/embeddings``."""

    async def handle(self, seen: Seen, send: ASGISend) -> None:
        key = seen.headers.get("authorization", "").removeprefix("Bearer ")
        if key != KEY:
            message = f"Incorrect API key provided: {key}. You can find your API key at the dashboard."
            error = {"message": message, "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}
            return await send_json(send, 401, {"error": error})
        if seen.path == "/v1/embeddings":
            return await self.embeddings(seen, send)
        if seen.path != "/v1/chat/completions":
            return await send_json(send, 404, {"error": {"message": f"no route {seen.path}", "type": "invalid"}})
        model = seen.body["model"]
        failure = OPENAI_FAILURES.get(model)
        if failure is not None:
            status, error, headers = failure
            return await send_json(send, status, {"error": error}, headers)
        if model == "slow":
            await asyncio.sleep(1.0)
        limit = seen.body.get("max_completion_tokens", seen.body.get("max_tokens"))
        words, prompt, truncated = echo_answer(seen.body["messages"], limit)
        finish = "length" if truncated else "stop"
        base = {"id": "chatcmpl-1", "created": 1700000000, "model": f"{model}-2024"}
        offered = seen.body.get("tools") and seen.body.get("tool_choice") != "none"
        calls = tool_round(seen.body["messages"]) if offered else None
        if calls:
            return await self.tool_calls(seen, send, base, calls, prompt)
        results = tool_results(seen.body["messages"])
        if results:
            words, finish = results.split(), "stop"
        usage = {"prompt_tokens": prompt, "completion_tokens": len(words), "total_tokens": prompt + len(words)}
        if not seen.body.get("stream"):
            answer = {"role": "assistant", "content": " ".join(words), "refusal": None}
            choice = {"index": 0, "message": answer, "finish_reason": finish, "logprobs": None}
            return await send_json(
                send, 200, {**base, "object": "chat.completion", "choices": [choice], "usage": usage}
            )

        def chunk(delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> bytes:
            choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
            data = {**base, "object": "chat.completion.chunk", "choices": [choice], **extra}
            return f"data: {json.dumps(data)}\n\n".encode()

        events = [chunk({"role": "assistant", "content": ""})]
        events += [chunk({"content": piece}) for piece in deltas(words)]
        if model == "stream-error":
            error = {"message": "The server had an error while processing your request.", "type": "server_error"}
            events.append(f"data: {json.dumps({'error': error})}\n\n".encode())
        events.append(chunk({}, finish))
        if (seen.body.get("stream_options") or {}).get("include_usage"):
            usage_chunk = {**base, "object": "chat.completion.chunk", "choices": [], "usage": usage}
            events.append(f"data: {json.dumps(usage_chunk)}\n\n".encode())
        events.append(b"data: [DONE]\n\n")
        await send_events(send, events)

    async def tool_calls(
        self, seen: Seen, send: ASGISend, base: dict[str, Any], calls: list[tuple[str, str]], prompt: int
    ) -> None:
        """An answer asking for ``calls``; streamed, each call in pieces (id and name, then the
        arguments in two halves), as the API sends them."""
        ids = [f"call_{hashlib.sha256(f'{i}{n}{a}'.encode()).hexdigest()[:10]}" for i, (n, a) in enumerate(calls)]
        usage = {"prompt_tokens": prompt, "completion_tokens": len(calls), "total_tokens": prompt + len(calls)}
        if not seen.body.get("stream"):
            whole = [
                {"id": ids[i], "type": "function", "function": {"name": n, "arguments": a}}
                for i, (n, a) in enumerate(calls)
            ]
            answer = {"role": "assistant", "content": None, "refusal": None, "tool_calls": whole}
            choice = {"index": 0, "message": answer, "finish_reason": "tool_calls", "logprobs": None}
            return await send_json(
                send, 200, {**base, "object": "chat.completion", "choices": [choice], "usage": usage}
            )

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
            return f"data: {json.dumps({**base, 'object': 'chat.completion.chunk', 'choices': [choice]})}\n\n".encode()

        events = [chunk({"role": "assistant", "content": None})]
        for i, (name, arguments) in enumerate(calls):
            head = {"index": i, "id": ids[i], "type": "function", "function": {"name": name, "arguments": ""}}
            events.append(chunk({"tool_calls": [head]}))
            half = len(arguments) // 2
            for part in (arguments[:half], arguments[half:]):
                events.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": part}}]}))
        events.append(chunk({}, "tool_calls"))
        if (seen.body.get("stream_options") or {}).get("include_usage"):
            usage_chunk = {**base, "object": "chat.completion.chunk", "choices": [], "usage": usage}
            events.append(f"data: {json.dumps(usage_chunk)}\n\n".encode())
        events.append(b"data: [DONE]\n\n")
        await send_events(send, events)

    async def embeddings(self, seen: Seen, send: ASGISend) -> None:
        model = seen.body["model"]
        dimensions = seen.body.get("dimensions") or {"text-embedding-3-small": 1536}.get(model, 16)
        items = []
        for index, text in enumerate(seen.body["input"]):
            vector = fake_vector(text, dimensions)
            packed = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode()
            embedding: Any = packed if seen.body.get("encoding_format") == "base64" else vector
            items.append({"object": "embedding", "index": index, "embedding": embedding})
        items.reverse()  # the API does not promise order: the provider must sort by index
        tokens = sum(len(t.split()) for t in seen.body["input"])
        body = {
            "object": "list",
            "data": items,
            "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        await send_json(send, 200, body)


OPENAI_FAILURES: dict[str, tuple[int, dict[str, Any], dict[str, str]]] = {
    "fail-429": (
        429,
        {
            "message": "Rate limit reached for requests",
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        },
        {"retry-after": "0.02"},
    ),
    "fail-context": (
        400,
        {
            "message": "This model's maximum context length is 8192 tokens. However, your messages resulted in "
            "9000 tokens. Please reduce the length of the messages.",
            "type": "invalid_request_error",
            "param": "messages",
            "code": "context_length_exceeded",
        },
        {},
    ),
    "fail-400": (
        400,
        {"message": "'temperature' must be at most 2", "type": "invalid_request_error", "param": "temperature"},
        {},
    ),
    "fail-404": (
        404,
        {"message": "The model `fail-404` does not exist", "type": "invalid_request_error", "code": "model_not_found"},
        {},
    ),
    "fail-500": (
        500,
        {"message": "The server had an error", "type": "server_error", "param": None, "code": None},
        {"retry-after-ms": "10"},
    ),
    "fail-502": (502, {"message": "Bad gateway", "type": "server_error", "param": None, "code": None}, {}),
}


def anthropic_key(seen: Seen) -> str:
    """The key as the API takes it: ``x-api-key``, or ``Authorization: Bearer`` (what SDK 2.x sends)."""
    return seen.headers.get("x-api-key") or seen.headers.get("authorization", "").removeprefix("Bearer ")


class FakeAnthropic(FakeAPI):
    """``/v1/messages``: JSON, and SSE events ``message_start`` … ``message_stop``."""

    async def handle(self, seen: Seen, send: ASGISend) -> None:
        key = anthropic_key(seen)
        if key != KEY:
            error = {"type": "authentication_error", "message": f"invalid x-api-key: {key}"}
            return await send_json(send, 401, {"type": "error", "error": error})
        if seen.path != "/v1/messages":
            return await send_json(send, 404, {"type": "error", "error": {"type": "not_found_error", "message": ""}})
        if "max_tokens" not in seen.body:
            error = {"type": "invalid_request_error", "message": "max_tokens: Field required"}
            return await send_json(send, 400, {"type": "error", "error": error})
        model = seen.body["model"]
        failure = ANTHROPIC_FAILURES.get(model)
        if failure is not None:
            status, error, headers = failure
            return await send_json(send, status, {"type": "error", "error": error}, {"request-id": "req_1", **headers})
        if model == "slow":
            await asyncio.sleep(1.0)
        turns = neutral(seen.body["messages"])
        words, prompt, truncated = echo_answer(turns, seen.body["max_tokens"])
        stop_reason = "max_tokens" if truncated else "end_turn"
        cached = 7 if model == "echo-cached" else 0
        message = {"id": "msg_1", "type": "message", "role": "assistant", "model": f"{model}-2025"}
        offered = seen.body.get("tools") and (seen.body.get("tool_choice") or {}).get("type") != "none"
        calls = tool_round(turns) if offered else None
        if calls:
            return await self.tool_use(seen, send, message, calls, prompt)
        results = tool_results(turns)
        if results:
            words, stop_reason = results.split(), "end_turn"
        usage = {"input_tokens": prompt, "output_tokens": len(words), "cache_read_input_tokens": cached}
        if not seen.body.get("stream"):
            content = [{"type": "text", "text": " ".join(words)}]
            body = {**message, "content": content, "stop_reason": stop_reason, "stop_sequence": None, "usage": usage}
            return await send_json(send, 200, body)

        def event(name: str, data: dict[str, Any]) -> bytes:
            return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n".encode()

        start_usage = {"input_tokens": prompt, "output_tokens": 1, "cache_read_input_tokens": cached}
        events = [
            event("message_start", {"message": {**message, "content": [], "stop_reason": None, "usage": start_usage}}),
            event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
            event("ping", {}),
        ]
        for piece in deltas(words):
            events.append(event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": piece}}))
            if model == "stream-error":
                events.append(event("error", {"error": {"type": "overloaded_error", "message": "Overloaded"}}))
                break
        events += [
            event("content_block_stop", {"index": 0}),
            event(
                "message_delta",
                {"delta": {"stop_reason": stop_reason, "stop_sequence": None}, "usage": {"output_tokens": len(words)}},
            ),
            event("message_stop", {}),
        ]
        await send_events(send, events)

    async def tool_use(
        self, seen: Seen, send: ASGISend, message: dict[str, Any], calls: list[tuple[str, str]], prompt: int
    ) -> None:
        """An answer asking for ``calls`` (``tool_use`` blocks, input a JSON object); streamed, each
        block's input in two ``input_json_delta`` pieces."""
        blocks = [
            {
                "type": "tool_use",
                "id": f"toolu_{i}{hashlib.sha256(a.encode()).hexdigest()[:8]}",
                "name": n,
                "input": json.loads(a),
            }
            for i, (n, a) in enumerate(calls)
        ]
        usage = {"input_tokens": prompt, "output_tokens": len(calls)}
        if not seen.body.get("stream"):
            body = {**message, "content": blocks, "stop_reason": "tool_use", "stop_sequence": None, "usage": usage}
            return await send_json(send, 200, body)

        def event(name: str, data: dict[str, Any]) -> bytes:
            return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n".encode()

        start = {**message, "content": [], "stop_reason": None, "usage": {"input_tokens": prompt, "output_tokens": 1}}
        events = [event("message_start", {"message": start})]
        for i, block in enumerate(blocks):
            events.append(event("content_block_start", {"index": i, "content_block": {**block, "input": {}}}))
            text = json.dumps(block["input"])
            for part in (text[: len(text) // 2], text[len(text) // 2 :]):
                events.append(
                    event(
                        "content_block_delta", {"index": i, "delta": {"type": "input_json_delta", "partial_json": part}}
                    )
                )
            events.append(event("content_block_stop", {"index": i}))
        events += [
            event(
                "message_delta",
                {"delta": {"stop_reason": "tool_use", "stop_sequence": None}, "usage": {"output_tokens": len(calls)}},
            ),
            event("message_stop", {}),
        ]
        await send_events(send, events)


ANTHROPIC_FAILURES: dict[str, tuple[int, dict[str, Any], dict[str, str]]] = {
    "fail-429": (
        429,
        {"type": "rate_limit_error", "message": "Number of request tokens has exceeded your per-minute rate limit"},
        {"retry-after": "0.02"},
    ),
    "fail-context": (
        400,
        {"type": "invalid_request_error", "message": "prompt is too long: 210000 tokens > 200000 maximum"},
        {},
    ),
    "fail-400": (400, {"type": "invalid_request_error", "message": "messages: roles must alternate"}, {}),
    "fail-404": (404, {"type": "not_found_error", "message": "model: fail-404"}, {}),
    "fail-500": (500, {"type": "api_error", "message": "Internal server error"}, {"retry-after-ms": "10"}),
    "fail-529": (529, {"type": "overloaded_error", "message": "Overloaded"}, {"retry-after": "0.02"}),
}


class LocalServer:
    """Runs an ASGI app with uvicorn in a thread, on a socket bound to 127.0.0.1 by the OS."""

    def __init__(self, app: Any) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        config = uvicorn.Config(app, log_config=None, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"

    def __enter__(self) -> LocalServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "the fake API did not start"
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.socket.close()


@pytest.fixture(scope="module")
def openai_api() -> Iterator[tuple[FakeOpenAI, str]]:
    app = FakeOpenAI()
    with LocalServer(app) as server:
        yield app, server.url


@pytest.fixture(scope="module")
def anthropic_api() -> Iterator[tuple[FakeAnthropic, str]]:
    app = FakeAnthropic()
    with LocalServer(app) as server:
        yield app, server.url


def openai_provider(url: str, *, key: str = KEY, timeout: float = 5.0, max_retries: int = 1) -> OpenAIProvider:
    return OpenAIProvider(OpenAIConnection(key, f"{url}/v1", timeout, max_retries, "platform"))


def anthropic_provider(url: str, *, key: str = KEY, timeout: float = 5.0, max_retries: int = 1) -> AnthropicProvider:
    return AnthropicProvider(AnthropicConnection(key, url, timeout, max_retries, "platform"))


def chat(*turns: tuple[str, str]) -> list[ChatMessage]:
    return [ChatMessage(role=role, content=content) for role, content in turns]


async def collect(stream: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    return [event async for event in stream]


# --- the contract: every provider -----------------------------------------------------------------

CONVERSATION = chat(
    ("system", "You are terse."),
    ("user", "hello"),
    ("assistant", "hi"),
    ("user", "the quick brown fox jumps over the lazy dog"),
)


@pytest.fixture(params=["offline", "openai", "anthropic"])
def llm(
    request: pytest.FixtureRequest,
) -> tuple[LLMProvider, str]:
    """``(provider, model)`` for each provider, the SDK-backed ones pointed at their fake API."""
    if request.param == "offline":
        return OfflineProvider(), "offline-echo"
    if request.param == "openai":
        return openai_provider(request.getfixturevalue("openai_api")[1]), "echo-gpt"
    return anthropic_provider(request.getfixturevalue("anthropic_api")[1]), "echo-claude"


async def test_contract_is_an_llm_provider(llm: tuple[LLMProvider, str]) -> None:
    provider, _ = llm
    assert isinstance(provider, LLMProvider)
    assert provider.name in ("offline", "openai", "anthropic")


async def test_contract_complete_answers_from_the_conversation_with_usage(llm: tuple[LLMProvider, str]) -> None:
    provider, model = llm
    done = await provider.complete(CONVERSATION, model=model)
    assert done.text.endswith("the quick brown fox jumps over the lazy dog")
    assert done.model.startswith(model)
    assert done.prompt_tokens > 0 and done.completion_tokens == len(done.text.split())
    assert done.finish_reason == "stop"


async def test_contract_stream_deltas_concatenate_to_the_completion(llm: tuple[LLMProvider, str]) -> None:
    provider, model = llm
    done = await provider.complete(CONVERSATION, model=model)
    events = await collect(provider.stream(CONVERSATION, model=model))
    *pieces, last = events
    assert len(pieces) > 1 and all(e.delta and e.finish_reason is None for e in pieces)
    assert "".join(e.delta for e in pieces) == done.text
    assert last.delta == "" and last.finish_reason == "stop"
    assert (last.prompt_tokens, last.completion_tokens) == (done.prompt_tokens, done.completion_tokens)


@pytest.mark.parametrize("mode", ["complete", "stream"])
async def test_contract_max_tokens_truncates_with_finish_reason_length(llm: tuple[LLMProvider, str], mode: str) -> None:
    provider, model = llm
    text: str
    finish: str | None
    used: int | None
    if mode == "complete":
        done = await provider.complete(CONVERSATION, model=model, max_tokens=3, temperature=0.2)
        text, finish, used = done.text, done.finish_reason, done.completion_tokens
    else:
        *pieces, last = await collect(provider.stream(CONVERSATION, model=model, max_tokens=3, temperature=0.2))
        text, finish, used = "".join(e.delta for e in pieces), last.finish_reason, last.completion_tokens
    assert len(text.split()) == 3 and used == 3 and finish == "length"


@pytest.mark.parametrize("mode", ["complete", "stream"])
async def test_contract_an_empty_conversation_is_a_bad_request(llm: tuple[LLMProvider, str], mode: str) -> None:
    provider, model = llm
    with pytest.raises(ProviderError) as info:
        if mode == "complete":
            await provider.complete([], model=model)
        else:
            await collect(provider.stream([], model=model))
    assert info.value.kind == "bad_request" and info.value.provider == provider.name
    assert info.value.status_code == 422


async def test_contract_a_consumer_may_stop_a_stream_early(llm: tuple[LLMProvider, str]) -> None:
    provider, model = llm
    stream = provider.stream(CONVERSATION, model=model)
    first = await anext(stream)
    assert first.delta
    await stream.aclose()  # type: ignore[attr-defined]
    # and the provider still works afterwards (the connection was given back or dropped cleanly)
    assert (await provider.complete(CONVERSATION, model=model)).finish_reason == "stop"


# --- tools: the same /tool syntax through every provider that calls tools ----------------------

TOOLS = [
    ToolSpec(
        name="weather",
        description="The weather in a city",
        parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    ),
    ToolSpec(name="echo", description="Echoes"),
]
ASKING = 'Weather please.\n/tool weather {"city": "Oslo"}\n/tool echo'


@pytest.fixture(params=["offline", "openai", "anthropic"])
def tool_llm(request: pytest.FixtureRequest) -> tuple[LLMProvider, str]:
    """``(provider, model)`` for each provider that calls tools."""
    if request.param == "offline":
        return OfflineProvider(), "offline-echo"
    if request.param == "openai":
        return openai_provider(request.getfixturevalue("openai_api")[1]), "echo-gpt"
    return anthropic_provider(request.getfixturevalue("anthropic_api")[1]), "echo-claude"


async def _asked(provider: LLMProvider, model: str, messages: list[ChatMessage], mode: str, **options: Any) -> Any:
    if mode == "complete":
        return await provider.complete(messages, model=model, **options)
    events = await collect(provider.stream(messages, model=model, **options))
    assert all(not e.tool_calls for e in events[:-1])  # whole calls, on the last event only
    return events[-1]


@pytest.mark.parametrize("mode", ["complete", "stream"])
async def test_contract_tools_are_called_and_their_results_read(tool_llm: tuple[LLMProvider, str], mode: str) -> None:
    provider, model = tool_llm
    asked = await _asked(provider, model, chat(("user", ASKING)), mode, tools=TOOLS)
    assert asked.finish_reason == "tool_calls"
    assert [(c.name, json.loads(c.arguments)) for c in asked.tool_calls] == [
        ("weather", {"city": "Oslo"}),
        ("echo", {}),
    ]
    assert len({c.id for c in asked.tool_calls}) == 2 and all(c.id for c in asked.tool_calls)
    history = [
        *chat(("user", ASKING)),
        ChatMessage(role="assistant", content="", tool_calls=asked.tool_calls),
        ChatMessage(role="tool", content="sunny", tool_call_id=asked.tool_calls[0].id, name="weather"),
        ChatMessage(role="tool", content="{}", tool_call_id=asked.tool_calls[1].id, name="echo"),
    ]
    answer = await provider.complete(history, model=model, tools=TOOLS)
    assert answer.tool_calls == () and answer.finish_reason == "stop"
    assert "tool results: weather → sunny; echo → {}" in answer.text
    # not offered, or tool_choice none: an ordinary answer
    for options in ({}, {"tools": TOOLS, "tool_choice": "none"}):
        plain = await provider.complete(chat(("user", ASKING)), model=model, **options)
        assert plain.tool_calls == () and plain.text.split()[1:3] == ["Weather", "please."]


# --- OpenAI -------------------------------------------------------------------------------------


async def test_openai_request_shape(openai_api: tuple[FakeOpenAI, str]) -> None:
    api, url = openai_api
    provider = openai_provider(url)
    await provider.complete(CONVERSATION, model="echo-shape", max_tokens=50, temperature=0.3)
    await collect(provider.stream(CONVERSATION, model="echo-shape"))
    plain, streamed = api.seen("echo-shape")
    assert plain.path == "/v1/chat/completions" and plain.headers["authorization"] == f"Bearer {KEY}"
    assert plain.body["messages"] == [{"role": m.role, "content": m.content} for m in CONVERSATION]
    assert plain.body["max_completion_tokens"] == 50 and plain.body["temperature"] == 0.3
    assert "max_tokens" not in plain.body and not plain.body.get("stream")
    assert streamed.body["stream"] is True and streamed.body["stream_options"] == {"include_usage": True}
    assert "temperature" not in streamed.body and "max_completion_tokens" not in streamed.body


async def test_openai_tools_request_shape(openai_api: tuple[FakeOpenAI, str]) -> None:
    api, url = openai_api
    provider = openai_provider(url)
    call = ToolCall(id="call_1", name="weather", arguments='{"city": "Oslo"}')
    history = [
        *chat(("user", ASKING)),
        ChatMessage(role="assistant", content="", tool_calls=(call,)),
        ChatMessage(role="tool", content="sunny", tool_call_id="call_1", name="weather"),
    ]
    await provider.complete(history, model="echo-tools-shape", tools=TOOLS, tool_choice="auto")
    [seen] = api.seen("echo-tools-shape")
    assert seen.body["tools"] == [
        {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": p}}
        for t, p in zip(TOOLS, [TOOLS[0].parameters, {"type": "object", "properties": {}}], strict=True)
    ]
    assert seen.body["tool_choice"] == "auto"
    assert seen.body["messages"][1:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Oslo"}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]


async def test_openai_legacy_max_tokens_parameter_for_compatible_servers(openai_api: tuple[FakeOpenAI, str]) -> None:
    api, url = openai_api
    provider = OpenAIProvider(OpenAIConnection(KEY, f"{url}/v1", 5, 0, "workspace"), max_tokens_param="max_tokens")
    done = await provider.complete(CONVERSATION, model="echo-legacy", max_tokens=2)
    assert done.finish_reason == "length"
    assert api.seen("echo-legacy")[0].body["max_tokens"] == 2


@dataclass(frozen=True)
class Failure:
    model: str
    kind: str
    requests: int
    """How many requests the server saw (1 + the SDK's retries, with ``max_retries=1``)."""
    words: str


OPENAI_CASES = [
    Failure("fail-429", "rate_limit", 2, "rate limited"),
    Failure("fail-context", "context_length", 1, "maximum context length"),
    Failure("fail-400", "bad_request", 1, "'temperature' must be at most 2"),
    Failure("fail-404", "bad_request", 1, "does not exist"),
    Failure("fail-500", "unavailable", 2, "HTTP 500"),
]


def assert_no_secret(error: ProviderError, *secrets_: str) -> None:
    text = "".join([str(error), repr(error), error.detail, repr(error.extra), *traceback.format_exception(error)])
    for secret in secrets_:
        assert secret not in text


@pytest.mark.parametrize("case", OPENAI_CASES, ids=lambda c: c.model)
@pytest.mark.parametrize("mode", ["complete", "stream"])
async def test_openai_errors_are_retried_then_mapped(
    openai_api: tuple[FakeOpenAI, str], case: Failure, mode: str
) -> None:
    api, url = openai_api
    api.requests.clear()
    provider = openai_provider(url)
    with pytest.raises(ProviderError) as info:
        if mode == "complete":
            await provider.complete(CONVERSATION, model=case.model)
        else:
            await collect(provider.stream(CONVERSATION, model=case.model))
    error = info.value
    assert (error.provider, error.kind) == ("openai", case.kind)
    assert case.words in error.detail
    assert len(api.seen(case.model)) == case.requests
    assert_no_secret(error, KEY)


async def test_openai_rate_limit_reports_retry_after(openai_api: tuple[FakeOpenAI, str]) -> None:
    _, url = openai_api
    with pytest.raises(ProviderError) as info:
        await openai_provider(url, max_retries=2).complete(CONVERSATION, model="fail-429")
    assert info.value.retry_after == pytest.approx(0.02)
    assert info.value.status_code == 502


async def test_openai_retries_back_off(openai_api: tuple[FakeOpenAI, str]) -> None:
    """Without ``retry-after`` the SDK waits (0.5 s less up to 25 % jitter) before its retry."""
    api, url = openai_api
    api.requests.clear()
    started = time.monotonic()
    with pytest.raises(ProviderError) as info:
        await openai_provider(url, max_retries=1).complete(CONVERSATION, model="fail-502")
    assert time.monotonic() - started >= 0.35
    assert len(api.seen("fail-502")) == 2
    assert info.value.kind == "unavailable" and "HTTP 502" in info.value.detail


async def test_openai_wrong_key_is_auth_and_never_repeated(openai_api: tuple[FakeOpenAI, str]) -> None:
    api, url = openai_api
    api.requests.clear()
    for mode in ("complete", "stream"):
        provider = openai_provider(url, key=WRONG_KEY)
        with pytest.raises(ProviderError) as info:
            if mode == "complete":
                await provider.complete(CONVERSATION, model="echo-auth")
            else:
                await collect(provider.stream(CONVERSATION, model="echo-auth"))
        assert info.value.kind == "auth" and "OPENAI_API_KEY" in info.value.detail
        assert_no_secret(info.value, WRONG_KEY, KEY)
    assert len(api.seen("echo-auth")) == 2  # 401 is not retried


async def test_openai_timeout(openai_api: tuple[FakeOpenAI, str]) -> None:
    api, url = openai_api
    api.requests.clear()
    with pytest.raises(ProviderError) as info:
        await openai_provider(url, timeout=0.2, max_retries=1).complete(CONVERSATION, model="slow")
    assert info.value.kind == "timeout" and "0.2 s" in info.value.detail
    assert len(api.seen("slow")) == 2  # timeouts are retried
    assert_no_secret(info.value, KEY)


async def test_openai_error_in_the_middle_of_a_stream(openai_api: tuple[FakeOpenAI, str]) -> None:
    _, url = openai_api
    got: list[StreamEvent] = []
    with pytest.raises(ProviderError) as info:
        async for event in openai_provider(url).stream(CONVERSATION, model="stream-error"):
            got.append(event)
    assert info.value.kind == "unavailable" and "in the stream" in info.value.detail
    assert got and got[0].delta == "echo:"  # what came before the error was delivered


async def test_openai_unreachable_is_unavailable() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with pytest.raises(ProviderError) as info:
        await openai_provider(url, max_retries=0).complete(CONVERSATION, model="echo")
    assert info.value.kind == "unavailable" and "127.0.0.1" in info.value.detail


async def test_openai_embeddings_batch_shorten_and_keep_order(openai_api: tuple[FakeOpenAI, str]) -> None:
    api, url = openai_api
    api.requests.clear()
    conn = OpenAIConnection(KEY, f"{url}/v1", 5, 0, "platform")
    embedder = OpenAIEmbeddingProvider(conn, model="text-embedding-3-small", dimensions=64, shorten=True, batch_size=2)
    assert isinstance(embedder, EmbeddingProvider)
    texts = ["alpha", "beta gamma", "delta", "epsilon zeta eta", "theta"]
    vectors = await embedder.embed(texts)
    assert vectors == [fake_vector(t, 64) for t in texts]
    batches = [r.body for r in api.requests if r.path == "/v1/embeddings"]
    assert [b["input"] for b in batches] == [texts[0:2], texts[2:4], texts[4:5]]
    assert all(b["dimensions"] == 64 and b["model"] == "text-embedding-3-small" for b in batches)
    assert await embedder.embed([]) == []


async def test_openai_embeddings_refuse_vectors_of_the_wrong_length(openai_api: tuple[FakeOpenAI, str]) -> None:
    _, url = openai_api
    conn = OpenAIConnection(KEY, f"{url}/v1", 5, 0, "platform")
    embedder = OpenAIEmbeddingProvider(conn, model="local-embed", dimensions=32, shorten=False, batch_size=8)
    with pytest.raises(ProviderError) as info:
        await embedder.embed(["x"])
    assert info.value.kind == "bad_request" and "length 16, expected 32" in info.value.detail
    wrong = OpenAIEmbeddingProvider(
        OpenAIConnection(WRONG_KEY, f"{url}/v1", 5, 0, "workspace"),
        model="local-embed",
        dimensions=16,
        shorten=False,
        batch_size=8,
    )
    with pytest.raises(ProviderError) as auth:
        await wrong.embed(["x"])
    assert auth.value.kind == "auth" and "config api_key" in auth.value.detail
    assert_no_secret(auth.value, WRONG_KEY)


# --- Anthropic ----------------------------------------------------------------------------------


async def test_anthropic_request_shape(anthropic_api: tuple[FakeAnthropic, str]) -> None:
    api, url = anthropic_api
    provider = anthropic_provider(url)
    messages = chat(
        ("system", "Be terse."),
        ("user", "one"),
        ("user", "two"),
        ("system", "Never apologise."),
        ("tool", "{}"),
        ("assistant", "ok"),
    )
    await provider.complete(messages, model="echo-shape", temperature=0.5)
    await collect(provider.stream(messages, model="echo-shape", max_tokens=9))
    plain, streamed = api.seen("echo-shape")
    assert plain.path == "/v1/messages" and anthropic_key(plain) == KEY
    assert plain.headers["anthropic-version"]
    assert plain.body["system"] == "Be terse.\n\nNever apologise."
    assert plain.body["messages"] == [
        {"role": "user", "content": "one\n\ntwo\n\n{}"},
        {"role": "assistant", "content": "ok"},
    ]
    assert plain.body["max_tokens"] == 1024  # the API requires one: our default
    assert "temperature" not in plain.body  # not a parameter of this Messages API (see the module docstring)
    assert streamed.body["stream"] is True and streamed.body["max_tokens"] == 9


async def test_anthropic_tools_request_shape(anthropic_api: tuple[FakeAnthropic, str]) -> None:
    api, url = anthropic_api
    provider = anthropic_provider(url)
    calls = (
        ToolCall(id="toolu_1", name="weather", arguments='{"city": "Oslo"}'),
        ToolCall(id="toolu_2", name="echo", arguments="not json"),
    )
    history = [
        *chat(("user", ASKING)),
        ChatMessage(role="assistant", content="Looking.", tool_calls=calls),
        ChatMessage(role="tool", content="sunny", tool_call_id="toolu_1", name="weather"),
        ChatMessage(role="tool", content="{}", tool_call_id="toolu_2", name="echo"),
    ]
    await provider.complete(history, model="echo-tools-shape", tools=TOOLS, tool_choice="required")
    [seen] = api.seen("echo-tools-shape")
    assert seen.body["tools"] == [
        {"name": "weather", "description": "The weather in a city", "input_schema": TOOLS[0].parameters},
        {"name": "echo", "description": "Echoes", "input_schema": {"type": "object"}},
    ]
    assert seen.body["tool_choice"] == {"type": "any"}
    assert seen.body["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Looking."},
                {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Oslo"}},
                {"type": "tool_use", "id": "toolu_2", "name": "echo", "input": {"arguments": "not json"}},
            ],
        },
        {
            "role": "user",  # both results in the one turn after the calls
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": "{}"},
            ],
        },
    ]


async def test_anthropic_only_system_messages_is_a_bad_request(anthropic_api: tuple[FakeAnthropic, str]) -> None:
    with pytest.raises(ProviderError) as info:
        await anthropic_provider(anthropic_api[1]).complete(chat(("system", "x")), model="echo")
    assert info.value.kind == "bad_request"


async def test_anthropic_prompt_tokens_include_cache_reads(anthropic_api: tuple[FakeAnthropic, str]) -> None:
    provider = anthropic_provider(anthropic_api[1])
    done = await provider.complete(CONVERSATION, model="echo-cached")
    last = (await collect(provider.stream(CONVERSATION, model="echo-cached")))[-1]
    words = sum(len(m.content.split()) for m in CONVERSATION if m.role != "system")
    assert done.prompt_tokens == last.prompt_tokens == words + 7


ANTHROPIC_CASES = [
    Failure("fail-429", "rate_limit", 2, "rate limited"),
    Failure("fail-context", "context_length", 1, "prompt is too long"),
    Failure("fail-400", "bad_request", 1, "roles must alternate"),
    Failure("fail-404", "bad_request", 1, "model: fail-404"),
    Failure("fail-500", "unavailable", 2, "HTTP 500"),
    Failure("fail-529", "unavailable", 2, "overloaded"),
]


@pytest.mark.parametrize("case", ANTHROPIC_CASES, ids=lambda c: c.model)
@pytest.mark.parametrize("mode", ["complete", "stream"])
async def test_anthropic_errors_are_retried_then_mapped(
    anthropic_api: tuple[FakeAnthropic, str], case: Failure, mode: str
) -> None:
    api, url = anthropic_api
    api.requests.clear()
    provider = anthropic_provider(url)
    with pytest.raises(ProviderError) as info:
        if mode == "complete":
            await provider.complete(CONVERSATION, model=case.model)
        else:
            await collect(provider.stream(CONVERSATION, model=case.model))
    error = info.value
    assert (error.provider, error.kind) == ("anthropic", case.kind)
    assert case.words in error.detail and "[request req_1]" in error.detail
    assert len(api.seen(case.model)) == case.requests
    assert_no_secret(error, KEY)


async def test_anthropic_rate_limit_reports_retry_after(anthropic_api: tuple[FakeAnthropic, str]) -> None:
    with pytest.raises(ProviderError) as info:
        await anthropic_provider(anthropic_api[1], max_retries=0).complete(CONVERSATION, model="fail-429")
    assert info.value.retry_after == pytest.approx(0.02)


async def test_anthropic_wrong_key_is_auth_and_never_repeated(anthropic_api: tuple[FakeAnthropic, str]) -> None:
    api, url = anthropic_api
    api.requests.clear()
    with pytest.raises(ProviderError) as info:
        await anthropic_provider(url, key=WRONG_KEY).complete(CONVERSATION, model="echo-auth")
    assert info.value.kind == "auth" and "ANTHROPIC_API_KEY" in info.value.detail
    assert_no_secret(info.value, WRONG_KEY, KEY)
    assert len(api.seen("echo-auth")) == 1


async def test_anthropic_timeout(anthropic_api: tuple[FakeAnthropic, str]) -> None:
    api, url = anthropic_api
    api.requests.clear()
    with pytest.raises(ProviderError) as info:
        await collect(anthropic_provider(url, timeout=0.2, max_retries=1).stream(CONVERSATION, model="slow"))
    assert info.value.kind == "timeout"
    assert len(api.seen("slow")) == 2


async def test_anthropic_error_event_in_the_middle_of_a_stream(anthropic_api: tuple[FakeAnthropic, str]) -> None:
    got: list[StreamEvent] = []
    with pytest.raises(ProviderError) as info:
        async for event in anthropic_provider(anthropic_api[1]).stream(CONVERSATION, model="stream-error"):
            got.append(event)
    assert info.value.kind == "unavailable" and "overloaded" in info.value.detail
    assert "in the stream" in info.value.detail
    assert [e.delta for e in got] == ["echo:"]


# --- offline ------------------------------------------------------------------------------------


async def test_offline_is_labelled_deterministic_and_falls_back_to_echo() -> None:
    provider = OfflineProvider()
    first = await provider.complete(CONVERSATION, model="gpt-4o")
    assert first == await provider.complete(CONVERSATION, model="gpt-4o")
    assert first.text.startswith("[offline] ") and first.model == "offline-echo"
    summary = await provider.complete(CONVERSATION, model="offline-summary")
    assert summary.model == "offline-summary"
    assert summary.text == (
        '[offline] You wrote: "the quick brown fox jumps over the lazy dog". '
        "The conversation has 4 messages about brown, dog, fox, hello, hi."
    )


async def test_offline_refuses_max_tokens_below_one() -> None:
    with pytest.raises(ProviderError) as info:
        await OfflineProvider().complete(CONVERSATION, model="offline-echo", max_tokens=0)
    assert info.value.kind == "bad_request" and "max_tokens" in info.value.detail


async def test_offline_streams_interleave() -> None:
    provider = OfflineProvider()
    order: list[str] = []

    async def run(tag: str) -> None:
        async for event in provider.stream(CONVERSATION, model="offline-echo"):
            if event.delta:
                order.append(tag)

    await asyncio.gather(run("a"), run("b"))
    assert order[:4] == ["a", "b", "a", "b"]


async def test_offline_embeddings_are_lexical_unit_vectors() -> None:
    embedder = OfflineEmbeddingProvider()
    assert isinstance(embedder, EmbeddingProvider) and embedder.dimensions == 256
    texts = ["deploy the billing service", "how do I deploy billing", "a chocolate cake recipe", ""]
    vectors = await embedder.embed(texts)
    assert vectors == await OfflineEmbeddingProvider().embed(texts)  # deterministic across instances
    assert all(len(v) == 256 and math.isclose(sum(x * x for x in v), 1.0) for v in vectors)

    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cos(vectors[0], vectors[1]) > cos(vectors[0], vectors[2])
    assert vectors[3] == [1.0] + [0.0] * 255  # no words: a fixed unit vector


# --- registration through the hooks ---------------------------------------------------------------


def llm_registry(**kwargs: Any) -> Registry:
    """A registry with this package's three entry points, discovered as the kernel does."""
    registry = Registry(**kwargs)
    registry.load([c for c in Registry.discover() if c.name.startswith("automatos.llm.")])
    return registry


async def registered(
    settings: Settings, configs: dict[str, dict[str, Any]] | None = None
) -> tuple[dict[str, LLMProvider], dict[str, EmbeddingProvider], list[str]]:
    registry = llm_registry()
    hooks = Hooks(registry, settings)
    view = HookView(registry.pm, configs=configs or {}, workspace_id=WS.id)
    llms = await hooks.llm_providers(view, WS)
    embedders = await hooks.embedding_providers(view, WS)
    errors = [f"{e.plugin}: {e.error}" for e in [*llms.errors, *embedders.errors]]
    return llms.items, embedders.items, errors


async def test_registration_with_the_platform_keys(
    openai_api: tuple[FakeOpenAI, str], anthropic_api: tuple[FakeAnthropic, str]
) -> None:
    settings = load_settings(
        {},
        openai_api_key=KEY,
        openai_base_url=f"{openai_api[1]}/v1",
        anthropic_api_key=KEY,
        anthropic_base_url=anthropic_api[1],
    )
    llms, embedders, errors = await registered(settings)
    assert errors == []
    assert set(llms) == {"offline", "openai", "anthropic"} and set(embedders) == {"offline", "openai"}
    assert (await llms["openai"].complete(CONVERSATION, model="echo-reg")).text.startswith("echo:")
    assert (await llms["anthropic"].complete(CONVERSATION, model="echo-reg")).text.startswith("echo:")
    assert embedders["openai"].dimensions == 1536
    assert len((await embedders["openai"].embed(["x"]))[0]) == 1536


async def test_registration_with_a_workspace_key(openai_api: tuple[FakeOpenAI, str]) -> None:
    api, url = openai_api
    api.requests.clear()
    workspace_key = KEY  # the fake accepts one key; what matters is where it came from
    configs = {
        "automatos.llm.openai": {
            "api_key": workspace_key,
            "base_url": f"{url}/v1",
            "max_retries": 0,
            "embedding_model": "local-embed",
            "embedding_dimensions": 16,
        }
    }
    local = load_settings({}, llm_allow_private_base_url=True)  # no platform key; the fake is on 127.0.0.1
    llms, embedders, errors = await registered(local, configs)
    assert errors == []
    assert set(llms) == {"offline", "openai"} and set(embedders) == {"offline", "openai"}
    assert (await llms["openai"].complete(CONVERSATION, model="echo-ws")).finish_reason == "stop"
    assert api.seen("echo-ws")[0].headers["authorization"] == f"Bearer {workspace_key}"
    assert embedders["openai"].dimensions == 16 and len((await embedders["openai"].embed(["a"]))[0]) == 16


async def test_registration_without_any_key_leaves_only_offline() -> None:
    llms, embedders, errors = await registered(load_settings({}))
    assert errors == []
    assert set(llms) == {"offline"} and set(embedders) == {"offline"}


async def test_a_workspace_cannot_send_the_platform_key_elsewhere() -> None:
    settings = load_settings({}, openai_api_key=KEY, anthropic_api_key=KEY)
    configs = {
        "automatos.llm.openai": {"base_url": "https://collector.example/v1"},
        "automatos.llm.anthropic": {"base_url": "https://collector.example"},
    }
    llms, embedders, errors = await registered(settings, configs)
    assert set(llms) == {"offline"} and set(embedders) == {"offline"}
    assert len(errors) == 3 and all("'base_url' needs the workspace's own 'api_key'" in e for e in errors)


async def test_malformed_workspace_config_is_contained_and_named() -> None:
    configs: dict[str, dict[str, Any]] = {
        "automatos.llm.openai": {"api_key": "sk-x", "timeout": "soon"},
        "automatos.llm.anthropic": {"api_key": "sk-y", "max_tokens": 0},
        "automatos.llm.offline": {"dimensions": 3},
    }
    llms, embedders, errors = await registered(load_settings({}), configs)
    assert set(llms) == {"offline"} and set(embedders) == set()
    joined = "\n".join(errors)
    assert "'timeout'" in joined and "'max_tokens'" in joined and "'dimensions'" in joined
    assert "sk-x" not in joined and "sk-y" not in joined


def test_offline_is_essential_and_the_sdk_providers_are_not() -> None:
    assert "automatos.llm.offline" in ESSENTIAL
    assert not {"automatos.llm.openai", "automatos.llm.anthropic"} & ESSENTIAL
    registry = llm_registry(deny=["automatos.llm.*"])
    states = {name: info.state for name, info in registry.extensions.items()}
    assert states == {
        "automatos.llm.offline": ExtensionState.LOADED,
        "automatos.llm.openai": ExtensionState.DENIED,
        "automatos.llm.anthropic": ExtensionState.DENIED,
    }


def test_settings_read_the_base_urls() -> None:
    settings = load_settings({"OPENAI_BASE_URL": "http://proxy:8080/v1", "ANTHROPIC_BASE_URL": "https://a.example"})
    assert settings.group(openai_ext.OpenAISettings).openai_base_url == "http://proxy:8080/v1"
    assert settings.group(anthropic_ext.AnthropicSettings).anthropic_base_url == "https://a.example"
    assert openai_ext.resolve_connection(settings, {"api_key": "k"}).base_url == "http://proxy:8080/v1"  # type: ignore[union-attr]
    assert anthropic_ext.resolve_connection(load_settings({}), {"api_key": "k"}).base_url == (  # type: ignore[union-attr]
        anthropic_ext.DEFAULT_BASE_URL
    )
