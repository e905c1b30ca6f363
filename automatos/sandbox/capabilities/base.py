"""What every capability shares: the refusal a snippet sees, host allow lists, method dispatch, call budgets."""

from __future__ import annotations

import inspect
import ipaddress
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from automatos.sandbox.types import CapabilityRefused as PoolCapabilityRefused

__all__ = ["Budget", "CapabilityRefused", "dispatch", "host_allowed", "normalize_host"]

_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


class CapabilityRefused(PoolCapabilityRefused):
    """A capability call the grant does not cover; the message (seen by the snippet) says what and why."""


def normalize_host(host: str) -> str:
    """An allow-list entry in canonical form: lower case, no trailing dot, IPv6 without brackets.

    Accepted: a DNS name (ASCII; punycode for international names), an IPv4 or IPv6 address, or
    ``*.`` followed by a DNS name of at least two labels (``*.example.com``: its subdomains only).
    ``ValueError`` names the entry otherwise.
    """
    if not isinstance(host, str):
        raise ValueError("a host must be a string")
    text = host.strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    wildcard = text.startswith("*.")
    name = text[2:] if wildcard else text
    if name.endswith("."):
        name = name[:-1]
    labels = name.split(".")
    if not name or len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise ValueError(f"{host!r} is not a host name, an IP address or *.domain")
    if wildcard:
        if len(labels) < 2:
            raise ValueError(f"{host!r}: a wildcard needs a domain of at least two labels (*.example.com)")
        return "*." + name
    return name


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    """Whether ``host`` (normalized) is one of ``allowed`` or a subdomain of one of its ``*.`` entries.

    ``host`` may itself be a wildcard entry: ``*.a.example.com`` is covered by ``*.example.com``.
    """
    for entry in allowed:
        if entry.startswith("*."):
            suffix = entry[1:]  # ".example.com"
            if host.endswith(suffix) and len(host) > len(suffix) and host[: -len(suffix)] not in ("", "*"):
                return True
            if host == entry:
                return True
        elif host == entry:
            return True
    return False


async def dispatch(
    cap: str, methods: dict[str, Callable[..., Awaitable[Any]]], method: str, args: list[Any], kwargs: dict[str, Any]
) -> Any:
    func = methods.get(method)
    if func is None:
        raise CapabilityRefused(f"{cap} has no method {method!r}")
    try:
        inspect.signature(func).bind(*args, **kwargs)
    except TypeError as exc:
        raise CapabilityRefused(f"bad arguments: {exc}") from None
    return await func(*args, **kwargs)


class Budget:
    """At most ``max_calls`` calls of one capability instance (one instance is made per run)."""

    def __init__(self, name: str, max_calls: int) -> None:
        self.name = name
        self.max_calls = max_calls
        self.calls = 0

    def spend(self) -> None:
        self.calls += 1
        if self.calls > self.max_calls:
            raise CapabilityRefused(f"at most {self.max_calls} {self.name} calls per run")
