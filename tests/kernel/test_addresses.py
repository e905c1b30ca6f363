"""The kernel's public-only connection backend: one check that the sandbox and the LLM providers share.

No network: hosts are IP literals, ``localhost`` or a reserved ``.invalid`` name, which resolve (or
fail) locally; the inner backend is a recorder that never opens a socket.
"""

from __future__ import annotations

from typing import Any

import httpcore
import pytest

from automatos.kernel import addresses
from automatos.sandbox import capabilities

__all__: list[str] = []


class _Refused(Exception):
    pass


class _Recorder:
    """An inner backend that records where it was asked to connect."""

    def __init__(self) -> None:
        self.connected: list[tuple[str, int]] = []
        self.slept: list[float] = []

    async def connect_tcp(self, host: str, port: int, **_: Any) -> str:
        self.connected.append((host, port))
        return "stream"

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def _backend(inner: _Recorder) -> addresses.PublicOnlyBackend:
    return addresses.PublicOnlyBackend(
        inner, connect_error=httpcore.ConnectError, refused=lambda host: _Refused(f"refused {host}")
    )


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "10.1.2.3", "169.254.169.254", "::ffff:127.0.0.1"])
async def test_non_public_hosts_are_refused_with_the_callers_exception(host: str) -> None:
    inner = _Recorder()
    with pytest.raises(_Refused, match=f"refused {host}"):
        await _backend(inner).connect_tcp(host, 80)
    assert inner.connected == []


async def test_an_unresolvable_host_raises_the_connect_error() -> None:
    inner = _Recorder()
    with pytest.raises(httpcore.ConnectError, match="could not be resolved"):
        await _backend(inner).connect_tcp("nothing.invalid", 80)
    assert inner.connected == []


async def test_a_public_address_is_connected_to_as_checked_and_sleep_is_delegated() -> None:
    inner = _Recorder()
    backend = _backend(inner)
    assert await backend.connect_tcp("93.184.216.34", 443) == "stream"
    await backend.sleep(0.5)
    assert inner.connected == [("93.184.216.34", 443)] and inner.slept == [0.5]


def test_the_sandbox_uses_the_kernels_classification() -> None:
    # one classification: the sandbox re-exports the kernel's, it does not keep a copy
    assert capabilities.public_address is addresses.public_address
    assert capabilities.embedded_ipv4 is addresses.embedded_ipv4
    assert isinstance(capabilities.http._transport(False)._pool._network_backend, addresses.PublicOnlyBackend)
