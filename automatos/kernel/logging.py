"""Structured logs: one JSON object per line, carrying who and what each line is about.

Every line names the request it belongs to (``request_id``), the caller (``principal_id``) and the
tenant (``workspace_id``). Those come from three context variables: the request middleware
(:mod:`automatos.api.middleware`) sets the request id and principal, the request context
(:func:`automatos.api.dependencies.provide_context`) adds the workspace through :func:`bind`. Context
variables follow the request into every coroutine and into ``sync_to_thread`` handlers, so a
library deep in the call stack logs with the right ids without being told.

Decisions:
- Formatting is msgspec (already a dependency) over a plain dict: no extra package, and encoding
  a line costs a few microseconds. ``LOG_FORMAT=text`` gives a one-line human format with the same
  ids, for a developer's terminal. ``LOG_FORMAT=auto`` (the default) picks text when the output
  is a terminal and ``AUTOMATOS_ENV=development``, JSON otherwise (a file, a pipe, a container's
  log collector, production).
- Writing a line is off the event loop: the root logger's handler is a
  :class:`~logging.handlers.QueueHandler` that only redacts and stamps the record in the caller's
  thread (where the request's context variables are) and puts it on a queue; a
  :class:`~logging.handlers.QueueListener` thread formats and writes it. A blocked stderr (a full
  pipe, a slow terminal or collector) then slows that thread, never a request. The listener starts
  with the first :func:`configure_logging` of a process (the app factory, every CLI command) and
  is stopped, its queue drained, by :func:`stop_logging` or at interpreter exit. A stream the
  caller passes explicitly (an in-memory buffer) cannot block and is written in the caller's
  thread. A child made by ``fork`` has no listener thread: its records are written directly.
- Secrets never reach a handler's output. :class:`RedactingFilter` sits on OUR handler (so it sees
  records propagated from every logger: ours, uvicorn's, SQLAlchemy's, libraries'), renders the
  message once with its arguments, masks bearer tokens, ``atk_`` API keys, passwords in URLs and
  ``password=``-style pairs, AWS key ids and secret-looking values, every value a
  :class:`~automatos.kernel.settings.Secret` holds (a ``Secret`` passed as an argument is masked
  before formatting: ``"%s" % secret`` would reveal it), and the literal values of the settings'
  secrets; exception and stack text are masked the same way. A pattern that masks a harmless
  value now and then is accepted; a leaked key is not.
- Idempotent: :func:`configure_logging` owns exactly one handler on the root logger, marked as
  ours, and reconfigures it in place when called again (``automatos serve`` and ``create_app``
  may both call it).
- The level follows ``LOG_LEVEL``; the kernel already re-applies it to the ``automatos`` logger
  when the setting is overridden at run time.
- Database drivers' loggers (:data:`PARAMETER_LOGGERS`: ``aiosqlite``, ``asyncpg``) are kept at
  INFO or above whatever ``LOG_LEVEL`` says: at DEBUG ``aiosqlite`` writes every call it runs with
  its arguments — the SQL *and its parameters* (key hashes, chat text, stored configurations) —
  which SQLAlchemy's ``hide_parameters`` (set on every engine, for its own lines and error texts)
  does not reach. Redaction cannot help: a parameter is not recognisable as a secret. Someone
  debugging the driver itself sets the logger's level after :func:`configure_logging`.
"""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import os
import queue
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlsplit

import msgspec

from automatos.kernel.settings import Secret

if TYPE_CHECKING:
    from automatos.kernel.settings import Settings

__all__ = [
    "PARAMETER_LOGGERS",
    "PRINCIPAL_ID",
    "REQUEST_ID",
    "WORKSPACE_ID",
    "JsonFormatter",
    "RedactingFilter",
    "TextFormatter",
    "add_secret",
    "bind",
    "configure_logging",
    "flush_logs",
    "log_context",
    "redact",
    "stop_logging",
]

REQUEST_ID: ContextVar[str | None] = ContextVar("automatos_request_id", default=None)
"""Id of the request being served (``X-Request-ID``); set by the request middleware."""
PRINCIPAL_ID: ContextVar[str | None] = ContextVar("automatos_principal_id", default=None)
"""Id of the authenticated caller, ``None`` when anonymous; set by the request middleware."""
WORKSPACE_ID: ContextVar[str | None] = ContextVar("automatos_workspace_id", default=None)
"""Id of the workspace the request acts in; bound once the request context has resolved it."""

_KEEP: Any = object()
MASK = "**********"
PARAMETER_LOGGERS = ("aiosqlite", "asyncpg")
"""Loggers that write statements' parameters below INFO; never set below INFO (see the module's docstring)."""


def bind(*, request_id: str | None = _KEEP, principal_id: str | None = _KEEP, workspace_id: str | None = _KEEP) -> None:
    """Attach ids to every log line emitted from now on in this request (this context).

    Only the ids given are changed. Call it from ``provide_context`` once the workspace is known:
    ``bind(principal_id=principal.id if principal else None, workspace_id=workspace.id if workspace else None)``.
    """
    if request_id is not _KEEP:
        REQUEST_ID.set(request_id)
    if principal_id is not _KEEP:
        PRINCIPAL_ID.set(principal_id)
    if workspace_id is not _KEEP:
        WORKSPACE_ID.set(workspace_id)


def log_context() -> dict[str, str | None]:
    """The ids the next log line would carry (for background jobs that want to copy them)."""
    return {"request_id": REQUEST_ID.get(), "principal_id": PRINCIPAL_ID.get(), "workspace_id": WORKSPACE_ID.get()}


# -- redaction ------------------------------------------------------------------------------------

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization: Bearer <token> / Basic <credentials>
    (re.compile(r"\b((?i:bearer)|Basic)(\s+)[A-Za-z0-9._~+/=-]{6,}"), r"\1\2" + MASK),
    # JSON Web Tokens, even without the scheme in front
    (re.compile(r"\beyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), MASK),
    # Automatos API keys, wherever they appear
    (re.compile(r"\batk_[A-Za-z0-9_-]+"), "atk_" + MASK),
    # scheme://user:password@host
    (re.compile(r"(://[^:/?#@\s]*:)[^@/\s]+@"), r"\1" + MASK + "@"),
    # password=..., api_key: "...", "client_secret": "..."
    (
        re.compile(
            r"""(?ix)
            (\b(?:password|passwd|pwd|secret|client_secret|token|access_token|refresh_token|api[_-]?key|
            secret_access_key|authorization)["']?\s*[=:]\s*["']?)
            (?![^\s"'&,;]*\*{10})(?!(?:bearer|basic)\s)[^\s"'&,;]+
            """
        ),
        r"\1" + MASK,
    ),
    # pre-signed URLs' query values: ours (signature=) and S3's SigV4 (X-Amz-Signature=,
    # X-Amz-Credential=, X-Amz-Security-Token=); whoever holds one can fetch the object
    (re.compile(r"(?i)(\b(?:x-amz-)?(?:signature|credential|security-token)=)[^\s&\"'#]+"), r"\1" + MASK),
    # AWS access key ids
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), MASK),
    # AWS secret access keys: 40 base64 characters mixing upper, lower and digits (a hex digest,
    # all lower case, is left alone)
    (
        re.compile(
            r"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]{0,39}[A-Z])(?=[A-Za-z0-9/+]{0,39}[a-z])"
            r"(?=[A-Za-z0-9/+]{0,39}[0-9])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"
        ),
        MASK,
    ),
)
_known: set[str] = set()
_known_re: re.Pattern[str] | None = None


def add_secret(value: str | None) -> None:
    """Mask this literal value in every log line from now on (values shorter than 6 are ignored)."""
    global _known_re
    if value is None:
        return
    text = value.reveal() if isinstance(value, Secret) else str(value)
    if len(text) < 6 or text in _known:
        return
    _known.add(text)
    _known_re = re.compile("|".join(re.escape(v) for v in sorted(_known, key=len, reverse=True)))


def redact(text: str) -> str:
    """``text`` with every secret-looking value masked."""
    if _known_re is not None:
        text = _known_re.sub(MASK, text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _mask_arg(value: Any) -> Any:
    if isinstance(value, Secret):
        return MASK if value else ""
    return value


class RedactingFilter(logging.Filter):
    """Renders each record's message once, masked, and stamps the request's ids on it."""

    _exc_formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        if not hasattr(record, "principal_id"):
            record.principal_id = PRINCIPAL_ID.get()
        if not hasattr(record, "workspace_id"):
            record.workspace_id = WORKSPACE_ID.get()
        if getattr(record, "_automatos_redacted", False):
            return True
        args = record.args
        if args:
            if isinstance(args, Mapping):
                record.args = {k: _mask_arg(v) for k, v in args.items()}
            elif isinstance(args, tuple):
                record.args = tuple(_mask_arg(v) for v in args)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the line
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._exc_formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        record._automatos_redacted = True
        return True


# -- formatters -----------------------------------------------------------------------------------

_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "principal_id",
    "workspace_id",
    "_automatos_redacted",
}
_encoder = msgspec.json.Encoder(enc_hook=repr)


def _timestamp(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _extra_value(value: Any) -> Any:
    if isinstance(value, Secret):
        return MASK if value else ""
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(repr(value))


def _message(record: logging.LogRecord) -> str:
    """The record's message, masked even when the formatter is used without our filter."""
    message = record.getMessage()
    return message if getattr(record, "_automatos_redacted", False) else redact(message)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message, the three ids, exception, extras."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": _timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": _message(record),
            "request_id": getattr(record, "request_id", None),
            "principal_id": getattr(record, "principal_id", None),
            "workspace_id": getattr(record, "workspace_id", None),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(self.formatException(record.exc_info))
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in line:
                line[key] = _extra_value(value)
        return _encoder.encode(line).decode()


class TextFormatter(logging.Formatter):
    """``2025-01-01T00:00:00.000Z INFO automatos.api [rid principal workspace] message``."""

    def format(self, record: logging.LogRecord) -> str:
        ids = " ".join(
            str(getattr(record, name, None) or "-") for name in ("request_id", "principal_id", "workspace_id")
        )
        text = f"{_timestamp(record.created)} {record.levelname} {record.name} [{ids}] {_message(record)}"
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(self.formatException(record.exc_info))
        if record.exc_text:
            text = f"{text}\n{record.exc_text}"
        if record.stack_info:
            text = f"{text}\n{record.stack_info}"
        return text


# -- configuration --------------------------------------------------------------------------------


def _settings_secrets(settings: Settings) -> Iterable[str]:
    for name in settings.__struct_fields__:
        value = getattr(settings, name)
        if isinstance(value, Secret) and value:
            yield value.reveal()
    for url in (settings.database_url, settings.redis_url):
        if url:
            try:
                password = urlsplit(url).password
            except ValueError:
                password = None
            if password:
                yield password


def _wants_text(log_format: str, environment: str, stream: IO[str]) -> bool:
    """``LOG_FORMAT``: text, json, or auto (text on a development terminal, JSON elsewhere)."""
    if log_format in ("text", "json"):
        return log_format == "text"
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError):  # a closed or file-like stream without isatty
        terminal = False
    return terminal and environment == "development"


class _QueueHandler(logging.handlers.QueueHandler):
    """Redacts and stamps in the caller's thread; the listener's thread formats and writes.

    Without a running listener in this process (after ``fork``, or after :func:`stop_logging`),
    records go straight to the target handler: a line is never silently dropped.
    """

    def __init__(self, q: queue.Queue[Any], target: logging.Handler) -> None:
        super().__init__(q)
        self.target = target
        self.listener: logging.handlers.QueueListener | None = None
        self.pid = os.getpid()

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        # The filter already rendered the message (masked, args dropped) and the exception text;
        # formatting is left to the listener's thread. exc_info holds a traceback (frames) that
        # must not cross threads.
        prepared = logging.makeLogRecord(record.__dict__)
        prepared.exc_info = None
        return prepared

    def emit(self, record: logging.LogRecord) -> None:
        if self.listener is None or self.pid != os.getpid():
            self.target.handle(record)
            return
        super().emit(record)


_lock = threading.Lock()


def configure_logging(settings: Settings, *, stream: IO[str] | None = None) -> logging.Handler:
    """Send every log record to ``stream`` (stderr) as JSON lines or text, redacted.

    Idempotent: a second call reconfigures the same handler (format, level, stream) instead of
    adding another. Returns the root logger's handler. Records to the process's stderr are
    written by a listener thread (see the module's docstring); an explicit ``stream`` is written
    in the caller's thread.
    """
    root = logging.getLogger()
    with _lock:
        handler = next((h for h in root.handlers if getattr(h, "_automatos", False)), None)
        if not isinstance(handler, _QueueHandler):
            if handler is not None:
                root.removeHandler(handler)
            handler = _QueueHandler(queue.Queue(), logging.StreamHandler(stream or sys.stderr))
            handler._automatos = True  # type: ignore[attr-defined]
            handler.addFilter(RedactingFilter())
            root.addHandler(handler)
        elif stream is not None:
            handler.target.setStream(stream)  # type: ignore[attr-defined]
        target = handler.target
        out = target.stream if isinstance(target, logging.StreamHandler) else sys.stderr
        text = _wants_text(settings.log_format, settings.environment, out)
        target.setFormatter(TextFormatter() if text else JsonFormatter())
        if stream is None and (handler.listener is None or handler.pid != os.getpid()):
            handler.pid = os.getpid()
            handler.listener = logging.handlers.QueueListener(handler.queue, target, respect_handler_level=False)
            handler.listener.start()
        elif stream is not None and handler.listener is not None:
            _stop_listener(handler)
    level = str(settings.log_level).upper()
    root.setLevel(level)
    logging.getLogger("automatos").setLevel(level)
    for name in PARAMETER_LOGGERS:  # never DEBUG: their DEBUG lines carry statement parameters
        logging.getLogger(name).setLevel(max(root.level, logging.INFO))
    for secret in _settings_secrets(settings):
        add_secret(secret)
    return handler


def _ours() -> _QueueHandler | None:
    handler = next((h for h in logging.getLogger().handlers if getattr(h, "_automatos", False)), None)
    return handler if isinstance(handler, _QueueHandler) else None


def _stop_listener(handler: _QueueHandler) -> None:
    listener, handler.listener = handler.listener, None
    if listener is not None and handler.pid == os.getpid():
        listener.stop()  # writes what is queued, then joins the thread


def flush_logs(timeout: float = 10.0) -> bool:
    """Wait until every record queued so far is written; ``False`` if ``timeout`` passed first."""
    handler = _ours()
    if handler is None or handler.listener is None or handler.pid != os.getpid():
        return True
    q = handler.queue
    done = threading.Event()

    def wait() -> None:
        q.join()  # type: ignore[attr-defined]
        done.set()

    threading.Thread(target=wait, daemon=True, name="automatos-log-flush").start()
    return done.wait(timeout)


def stop_logging() -> None:
    """Drain the queue and stop the listener thread; later records are written directly."""
    with _lock:
        handler = _ours()
        if handler is not None:
            _stop_listener(handler)


atexit.register(stop_logging)
