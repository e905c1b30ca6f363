"""Structured logs: JSON lines with the request's ids, text for terminals, secrets never written."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from automatos.kernel.logging import (
    MASK,
    PRINCIPAL_ID,
    REQUEST_ID,
    WORKSPACE_ID,
    bind,
    configure_logging,
    flush_logs,
    log_context,
    redact,
    stop_logging,
)
from automatos.kernel.settings import Secret, Settings, load_settings

log = logging.getLogger("automatos.tests.logging")


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    tokens = [var.set(None) for var in (REQUEST_ID, PRINCIPAL_ID, WORKSPACE_ID)]
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    for var, token in zip((REQUEST_ID, PRINCIPAL_ID, WORKSPACE_ID), tokens, strict=True):
        var.reset(token)


def _configure(**settings: Any) -> io.StringIO:
    from automatos.extensions.llm.openai import OpenAISettings
    from automatos.extensions.storage.s3 import S3Settings
    from automatos.kernel.settings import check_settings

    stream = io.StringIO()
    loaded = load_settings({}, **settings)
    check_settings(loaded, (OpenAISettings, S3Settings))  # what building the kernel does: reads every struct
    configure_logging(loaded, stream=stream)
    return stream


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_json_lines_carry_the_bound_ids() -> None:
    stream = _configure()
    log.info("anonymous line")
    bind(request_id="r-1", principal_id="alice")
    bind(workspace_id="ws-9")
    log.warning("hello %s", "world", extra={"route": "GET /api/x", "attempt": 2})
    first, second = _lines(stream)
    assert set(first) >= {"timestamp", "level", "logger", "message", "request_id", "principal_id", "workspace_id"}
    assert (first["request_id"], first["principal_id"], first["workspace_id"]) == (None, None, None)
    assert first["timestamp"].endswith("Z") and first["logger"] == log.name
    assert second["message"] == "hello world" and second["level"] == "WARNING"
    assert (second["request_id"], second["principal_id"], second["workspace_id"]) == ("r-1", "alice", "ws-9")
    assert (second["route"], second["attempt"]) == ("GET /api/x", 2)
    assert log_context() == {"request_id": "r-1", "principal_id": "alice", "workspace_id": "ws-9"}


async def test_ids_follow_the_request_into_tasks_and_not_beyond() -> None:
    stream = _configure()

    async def request(rid: str) -> None:
        bind(request_id=rid, principal_id=f"p-{rid}")
        await asyncio.sleep(0)
        log.info("inside %s", rid)

    await asyncio.gather(asyncio.create_task(request("a")), asyncio.create_task(request("b")))
    log.info("outside")
    by_message = {line["message"]: line for line in _lines(stream)}
    assert by_message["inside a"]["request_id"] == "a" and by_message["inside a"]["principal_id"] == "p-a"
    assert by_message["inside b"]["request_id"] == "b"
    assert by_message["outside"]["request_id"] is None


def test_exceptions_are_included_and_redacted() -> None:
    stream = _configure()
    try:
        raise ValueError("could not connect to redis://:hunter2secret@cache:6379/0")
    except ValueError:
        log.exception("failed with token=abc123def")
    (line,) = _lines(stream)
    assert "ValueError" in line["exception"] and "Traceback" in line["exception"]
    assert "hunter2secret" not in stream.getvalue() and "abc123def" not in stream.getvalue()
    assert line["message"] == f"failed with token={MASK}"


def test_text_format() -> None:
    stream = _configure(log_format="text")
    bind(request_id="r-2")
    log.info("plain %d", 42)
    text = stream.getvalue().strip()
    assert text.endswith("INFO automatos.tests.logging [r-2 - -] plain 42")


def test_configure_twice_keeps_one_handler_and_applies_the_new_format() -> None:
    root = logging.getLogger()
    _configure()
    stream = _configure(log_format="text", log_level="WARNING")
    assert len([h for h in root.handlers if getattr(h, "_automatos", False)]) == 1
    log.info("dropped")
    log.warning("kept")
    assert stream.getvalue().count("\n") == 1 and "kept" in stream.getvalue() and not stream.getvalue().startswith("{")


def test_secrets_are_masked_in_messages_args_and_extras() -> None:
    stream = _configure(openai_api_key="sk-proj-abcdefghijklmnop", aws_secret_access_key="plainsecretvalue")
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl"
    log.info("Authorization: Bearer %s", token)
    log.info("created key %s for %s", "atk_3f9a8b7c6d5e4f3a2b1c", "alice")
    log.info("settings secret %s and %r", Secret("sk-proj-abcdefghijklmnop"), Secret("another-one"))
    log.info("the raw value sk-proj-abcdefghijklmnop and plainsecretvalue leaked into a message")
    log.info("db at postgresql+asyncpg://automatos:pa55word@db:5432/automatos?password=pa55word")
    log.info("aws %s %s", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    log.info("with extras", extra={"api_key": Secret("sk-extra-123456"), "note": "Bearer abcdefghij"})
    output = stream.getvalue()
    for secret in (
        token,
        "c2lnbmF0dXJl",
        "atk_3f9a8b7c6d5e4f3a2b1c",
        "sk-proj-abcdefghijklmnop",
        "plainsecretvalue",
        "another-one",
        "pa55word",
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "sk-extra-123456",
        "abcdefghij",
    ):
        assert secret not in output, secret
    lines = _lines(stream)
    assert lines[0]["message"] == f"Authorization: Bearer {MASK}"
    assert lines[1]["message"] == f"created key atk_{MASK} for alice"  # the rest of the line survives
    assert lines[4]["message"].startswith(f"db at postgresql+asyncpg://automatos:{MASK}@db:5432/")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("X-API-Key: atk_abc_DEF-123", f"X-API-Key: atk_{MASK}"),
        ("redis://:s3cret@host:6379/0", f"redis://:{MASK}@host:6379/0"),
        ('{"password": "hunter22"}', f'{{"password": "{MASK}"}}'),
        ("client_secret=xyz&scope=read", f"client_secret={MASK}&scope=read"),
        ("authorization=Basic dXNlcjpwYXNz", f"authorization=Basic {MASK}"),
        # left alone: a commit hash, prose, numbers of tokens
        ("sha 0123456789abcdef0123456789abcdef01234567", "sha 0123456789abcdef0123456789abcdef01234567"),
        ("basic setup done", "basic setup done"),
        ("max_tokens=512", "max_tokens=512"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_a_record_is_redacted_once_for_every_later_handler() -> None:
    """Our filter renders the message masked into the record, so handlers after ours see it masked too."""
    stream = _configure()
    captured: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            captured.append(record)

    keeper = Keep()
    logging.getLogger().addHandler(keeper)
    try:
        log.info("twice %s", "atk_zzzzzzzzzzzz")
    finally:
        logging.getLogger().removeHandler(keeper)
    assert "atk_zzzz" not in stream.getvalue()
    assert captured[0].getMessage() == f"twice atk_{MASK}"


# -- LOG_FORMAT=auto, pre-signed URLs, writes off the event loop ----------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("env", "stream_type", "text"),
    [
        ({}, _Terminal, True),  # a developer's terminal: human lines
        ({}, io.StringIO, False),  # a pipe or a file: JSON
        ({"AUTOMATOS_ENV": "production"}, _Terminal, False),  # production: JSON even on a terminal
        ({"LOG_FORMAT": "json"}, _Terminal, False),
        ({"LOG_FORMAT": "text"}, io.StringIO, True),
    ],
)
def test_auto_format_is_text_on_a_development_terminal_only(
    env: dict[str, str], stream_type: type[io.StringIO], text: bool
) -> None:
    settings = load_settings(env)
    assert load_settings({}).log_format == "auto"
    stream = stream_type()
    configure_logging(settings, stream=stream)
    log.info("which format")
    line = stream.getvalue().strip()
    assert line.endswith("INFO automatos.tests.logging [- - -] which format") is text
    assert line.startswith("{") is not text


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            '127.0.0.1:5 - "GET /api/blobs/a/b.txt?expires=1760000000&signature=0f9e8d7c6b5a HTTP/1.1" 200',
            f'127.0.0.1:5 - "GET /api/blobs/a/b.txt?expires=1760000000&signature={MASK} HTTP/1.1" 200',
        ),
        (
            "https://s3/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=minio%2F20260101%2Fus-east-1%2Fs3"
            "&X-Amz-Date=20260101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host"
            "&X-Amz-Security-Token=FQoGZXIvYXdzEJr&X-Amz-Signature=3b1f0c9e2d",
            f"https://s3/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={MASK}"
            "&X-Amz-Date=20260101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host"
            f"&X-Amz-Security-Token={MASK}&X-Amz-Signature={MASK}",
        ),
        ("the signature is valid", "the signature is valid"),
    ],
)
def test_presigned_url_signatures_are_redacted(line: str, expected: str) -> None:
    assert redact(line) == expected


def test_a_presigned_url_in_an_access_log_line_is_masked() -> None:
    stream = _configure()
    access = logging.getLogger("uvicorn.access")
    # an in-process uvicorn started by an earlier test with uvicorn's own logging config leaves
    # "uvicorn" and "uvicorn.access" with their own handlers, not propagating: put them as
    # `automatos serve` (log_config=None) leaves them, for this test only
    loggers = (logging.getLogger("uvicorn"), access)
    saved = [(lg.level, lg.propagate, lg.disabled, lg.handlers[:]) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.INFO)
        lg.propagate, lg.disabled, lg.handlers = True, False, []
    try:
        target = "/api/blobs/k?expires=9&signature=abcdef123456"
        access.info('%s - "%s %s HTTP/%s" %d', "1.2.3.4:5", "GET", target, "1.1", 200)
    finally:
        for lg, (level, propagate, disabled, handlers) in zip(loggers, saved, strict=True):
            lg.setLevel(level)
            lg.propagate, lg.disabled, lg.handlers = propagate, disabled, handlers
    assert "abcdef123456" not in stream.getvalue() and f"signature={MASK}" in stream.getvalue()


class _BlockingStream(io.StringIO):
    """stderr that blocks until released (a full pipe, a stalled collector), noting who wrote."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.writers: set[str] = set()

    def write(self, text: str) -> int:
        self.writers.add(threading.current_thread().name)
        if not self.release.wait(60):
            raise AssertionError("never released")
        return super().write(text)


def _on_stderr(stream: _BlockingStream, settings: Settings) -> None:
    """Configure logging as a process does (no explicit stream) with ``stream`` as its stderr.

    Called in the test's body: pytest puts its own ``sys.stderr`` back between fixture and test.
    """
    saved = sys.stderr
    sys.stderr = stream
    try:
        configure_logging(settings)
    finally:
        sys.stderr = saved


@pytest.fixture
def queued_stderr() -> Iterator[_BlockingStream]:
    """Our handler created afresh on a blocking stderr (the previous one is put back afterwards)."""
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "_automatos", False)]
    for handler in ours:
        root.removeHandler(handler)
    stream = _BlockingStream()
    try:
        yield stream
    finally:
        stream.release.set()
        stop_logging()
        for handler in [h for h in root.handlers if getattr(h, "_automatos", False)]:
            root.removeHandler(handler)
        for handler in ours:
            root.addHandler(handler)


async def test_log_writes_happen_off_the_event_loop(queued_stderr: _BlockingStream) -> None:
    _on_stderr(queued_stderr, load_settings({"LOG_FORMAT": "json"}))
    bind(request_id="r-q")
    for n in range(3):  # stderr is blocked: the loop goes on all the same
        log.warning("queued %d with atk_secretsecret", n)
    await asyncio.sleep(0)
    assert queued_stderr.getvalue() == ""
    queued_stderr.release.set()
    assert await asyncio.to_thread(flush_logs, 30)
    lines = _lines(queued_stderr)
    assert [line["message"] for line in lines] == [f"queued {n} with atk_{MASK}" for n in range(3)]
    assert {line["request_id"] for line in lines} == {"r-q"}  # stamped in the caller's context
    assert threading.current_thread().name not in queued_stderr.writers and queued_stderr.writers


def test_after_stop_lines_are_written_directly(queued_stderr: _BlockingStream) -> None:
    _on_stderr(queued_stderr, load_settings({"LOG_FORMAT": "text"}))
    queued_stderr.release.set()
    try:
        raise RuntimeError("boom with password=hunter22")
    except RuntimeError:
        log.exception("queued before stop")
    stop_logging()  # drains the queue
    assert "queued before stop" in queued_stderr.getvalue() and "RuntimeError" in queued_stderr.getvalue()
    assert "hunter22" not in queued_stderr.getvalue()
    queued_stderr.writers.clear()
    log.warning("after stop")
    assert "after stop" in queued_stderr.getvalue() and queued_stderr.writers == {threading.current_thread().name}
