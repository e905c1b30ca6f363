"""Which network addresses are public, and a connection backend that reaches only those.

Why one module: the sandbox's ``http`` capability (:mod:`automatos.sandbox.capabilities`) and the
LLM providers' workspace ``base_url`` (:mod:`automatos.extensions.llm._common`) make the same promise
— a workspace admin cannot point us at the platform's own network or a cloud metadata endpoint —
so they must classify addresses the same way and check them the same way: resolve the host once,
refuse it when any answer is not public, and connect to the address that was checked (no second
lookup a rebinding DNS could answer differently).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable, Iterable
from typing import Any

import httpcore

__all__ = ["PublicOnlyBackend", "embedded_ipv4", "public_address"]

_V6 = ipaddress.IPv6Network
_MAPPED = _V6("::ffff:0:0/96")
"""IPv4-mapped (RFC 4291): ``::ffff:a.b.c.d``."""
_COMPATIBLE = _V6("::/96")
"""IPv4-compatible (deprecated, RFC 4291): ``::a.b.c.d``; kernels that still route it reach the IPv4 host."""
_SIIT = _V6("::ffff:0:0:0/96")
"""IPv4-translated (SIIT, RFC 2765): ``::ffff:0:a.b.c.d``."""
_NAT64 = _V6("64:ff9b::/96")
"""The NAT64 well-known prefix (RFC 6052): the low 32 bits are the IPv4 destination."""
_NAT64_LOCAL = _V6("64:ff9b:1::/48")
"""Local-use NAT64 (RFC 8215): the operator picks the prefix length, so every RFC 6052 position counts."""
_SIXTOFOUR = _V6("2002::/16")
"""6to4 (RFC 3056): bits 16-47 are the IPv4 address of the relay that delivers it."""
_TEREDO = _V6("2001::/32")
"""Teredo (RFC 4380): the server's IPv4 in bits 32-63, the client's bitwise-inverted in the low 32."""


def _v4(value: int) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(value & 0xFFFFFFFF)


def _rfc6052_candidates(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 address embedded after a /48, /56, /64 or /96 prefix (RFC 6052 §2.2; bits 64-71 skipped)."""
    raw = ip.packed
    positions = ((6, 7, 9, 10), (7, 9, 10, 11), (9, 10, 11, 12), (12, 13, 14, 15))
    return [ipaddress.IPv4Address(bytes(raw[i] for i in where)) for where in positions]


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address] | None:
    """The IPv4 addresses an IPv6 address carries (mapped, compatible, SIIT, NAT64, 6to4, Teredo).

    ``None`` when it embeds none; a packet to such an address ends up at (or through) the IPv4 hosts
    returned, so the address is judged by them, never by the IPv6 form.
    """
    value = int(ip)
    if ip in _MAPPED or ip in _COMPATIBLE or ip in _SIIT or ip in _NAT64:
        return [_v4(value)]
    if ip in _NAT64_LOCAL:
        return _rfc6052_candidates(ip)
    if ip in _SIXTOFOUR:
        return [_v4(value >> 80)]
    if ip in _TEREDO:
        return [_v4(value >> 64), _v4(~value)]
    return None


def public_address(address: str) -> bool:
    """Whether ``address`` (an IP literal) is globally routable unicast: not loopback, private,
    link-local, CGNAT, reserved, multicast or unspecified. An IPv6 address that embeds IPv4
    addresses (:func:`embedded_ipv4`) is public only when every address it embeds is."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = embedded_ipv4(ip)
        if embedded is not None:
            return all(_public_ipv4(v4) for v4 in embedded)
    return ip.is_global and not ip.is_multicast


def _public_ipv4(ip: ipaddress.IPv4Address) -> bool:
    return ip.is_global and not ip.is_multicast


class PublicOnlyBackend(httpcore.AsyncNetworkBackend):
    """A network backend for an httpcore connection pool that connects to public addresses only.

    ``inner`` is the pool's own backend (httpcore's, or the copy an SDK ships: only its
    ``connect_tcp`` and ``sleep`` are used). A host that does not resolve raises
    ``connect_error(message)``; one with any non-public answer raises ``refused(host)`` — each
    caller says which exception (its copy of httpcore's ``ConnectError``, so the client reports a
    connection failure) and may log there.
    """

    def __init__(self, inner: Any, *, connect_error: type[Exception], refused: Callable[[str], Exception]) -> None:
        self._inner = inner
        self._connect_error = connect_error
        self._refused = refused

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> Any:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            raise self._connect_error(f"{host!r} could not be resolved") from None
        addresses = [str(info[4][0]) for info in infos]
        if not addresses or not all(public_address(a) for a in addresses):
            raise self._refused(host)
        return await self._inner.connect_tcp(
            addresses[0], port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
