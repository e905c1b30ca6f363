"""Database drivers' loggers never write the parameters of a statement, whatever ``LOG_LEVEL`` is.

``aiosqlite`` logs every call it runs at DEBUG (``executing functools.partial(<execute>, 'SELECT …',
('<parameter>',))``): with ``LOG_LEVEL=DEBUG`` key hashes, chat text and stored configurations would
reach the log. SQLAlchemy's ``hide_parameters`` covers only its own lines.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from automatos.kernel.db.session import engine_from_url
from automatos.kernel.logging import configure_logging, flush_logs
from automatos.kernel.settings import load_settings

SECRET_PARAMETER = "kh_3f9a1c77e2d04b5c9e11aa55"


@pytest.fixture
def debug_stream() -> Iterator[io.StringIO]:
    """The process's logging configured at DEBUG into a buffer; restored afterwards."""
    root = logging.getLogger()
    handlers = list(root.handlers)
    names = ("", "automatos", "aiosqlite", "asyncpg")
    saved = {name: logging.getLogger(name).level for name in names}
    stream = io.StringIO()
    configure_logging(load_settings({}, log_level="DEBUG"), stream=stream)
    try:
        yield stream
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)


async def test_a_statement_parameter_never_reaches_the_log_at_debug(tmp_path: Path, debug_stream: io.StringIO) -> None:
    assert logging.getLogger("automatos").isEnabledFor(logging.DEBUG)  # DEBUG is really on
    engine = engine_from_url(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE keys (key_hash TEXT)"))
            await connection.execute(text("INSERT INTO keys VALUES (:h)"), {"h": SECRET_PARAMETER})
            query = text("SELECT key_hash FROM keys WHERE key_hash = :h")
            found = (await connection.execute(query, {"h": SECRET_PARAMETER})).scalar()
        assert found == SECRET_PARAMETER
    finally:
        await engine.dispose()
    logging.getLogger("automatos").debug("debug line after the statements")
    assert flush_logs()
    output = debug_stream.getvalue()
    assert "debug line after the statements" in output  # the stream did receive DEBUG records
    assert SECRET_PARAMETER not in output


def test_the_driver_loggers_stay_at_info_or_above_at_debug(debug_stream: io.StringIO) -> None:
    for name in ("aiosqlite", "asyncpg"):
        assert not logging.getLogger(name).isEnabledFor(logging.DEBUG), name
    assert logging.getLogger("aiosqlite").isEnabledFor(logging.INFO)  # its warnings and errors still reach the log
