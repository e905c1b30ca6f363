"""The scan process's memory cap (PLUGINS_SCAN_MEMORY_MB): past it the scanner gets a MemoryError.

A scanner allocation past the cap fails in the scan process — a rule that fails is a finding and
the verdict ``review`` (kernel/scanning.py) — instead of growing until the machine's OOM killer
picks a process.
"""

from __future__ import annotations

import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor

import pytest

from automatos.marketplace.jobs import ScanProcess, limit_memory
from automatos.marketplace.settings import MarketplaceSettings

MiB = 1024 * 1024
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is enforced on Linux only")


def allocate(size: int) -> str:
    try:
        block = bytearray(size)
    except MemoryError:
        return "MemoryError"
    return f"allocated {len(block)}"


def test_the_cap_applies_in_the_scan_process_and_only_there() -> None:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context, initializer=limit_memory, initargs=(512 * MiB,)) as capped:
        assert capped.submit(allocate, 2048 * MiB).result(timeout=120) == "MemoryError"
        assert capped.submit(allocate, 16 * MiB).result(timeout=120) == f"allocated {16 * MiB}"
    with ProcessPoolExecutor(1, mp_context=context, initializer=limit_memory, initargs=(None,)) as free:
        assert free.submit(allocate, 64 * MiB).result(timeout=120) == f"allocated {64 * MiB}"


def test_the_setting_reaches_the_scan_process() -> None:
    settings = MarketplaceSettings(plugins_scan_memory_mb=300)
    assert settings.scan_memory_bytes == 300 * MiB
    assert ScanProcess(10, settings.scan_memory_bytes).memory_bytes == 300 * MiB
    assert MarketplaceSettings().plugins_scan_memory_mb == 2048
