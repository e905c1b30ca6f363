"""Whether a URL a workspace gives us may be where the platform sends requests: :func:`outbound_url_problem`.

Why one module: a workspace's MCP server ``url`` (:mod:`automatos.tools.mcp.client`) and a
workspace's LLM ``base_url`` (:mod:`automatos.extensions.llm._common`) make the same promise — a
workspace admin cannot point the platform at its own network or a cloud metadata endpoint — so they
refuse the same URLs when one is written, each naming the operator's switch that lifts the rule
(``MCP_ALLOW_PRIVATE``, ``LLM_ALLOW_PRIVATE_BASE_URL``). This is the check of the URL as written; a
host *name* is checked when connecting, where it is resolved
(:class:`~automatos.kernel.addresses.PublicOnlyBackend`).

The two checks were copies that differed in how they read a literal address, and the stricter
reading of each is kept: an IPv4 address in a legacy form (``2130706433``, ``0x7f.1``, ``0177.1``,
``127.1``) is decoded as the C library would and judged by the address it is (the LLM copy's rule;
the MCP copy left it to the connect-time check), and a zone suffix (``127.0.0.1%25x``) is dropped
before parsing (the MCP copy's rule; the LLM copy took such a host for a name). A host with a
trailing dot (``localhost.``, ``127.0.0.1.``) is judged without it (neither copy did).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

from automatos.kernel.addresses import public_address

__all__ = ["outbound_url_problem"]

_LEGACY_IPV4 = re.compile(r"[0-9a-fx.]+")
_LETTERS_ONLY = re.compile(r"[a-f.]+")


def _literal_address(host: str) -> str | None:
    """``host`` as an IP address when it is one, without a zone (``%eth0``): also the legacy IPv4
    forms ``2130706433``, ``0x7f.1``."""
    bare = host.split("%", 1)[0]
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        pass
    if _LEGACY_IPV4.fullmatch(bare) and not _LETTERS_ONLY.fullmatch(bare):
        try:
            return socket.inet_ntoa(socket.inet_aton(bare))
        except OSError:
            return None
    return None


def outbound_url_problem(url: str, *, allow_private: bool, switch: str, credentials_hint: str) -> str | None:
    """Why the platform may not send a workspace's requests to ``url`` (``None``: it may).

    Always refused: whitespace or control characters (``urlsplit`` would quietly drop some), a URL
    that is not ``http(s)`` with a host, and credentials in it (``user:password@``, a classic way to
    disguise a host; ``credentials_hint`` says where they belong instead, e.g. ``"send them in
    headers"``). Unless ``allow_private`` (the operator's ``switch``, named in the message), also
    ``localhost`` (and ``*.localhost``) and a literal address that is not public
    (:func:`~automatos.kernel.addresses.public_address`: loopback, private, link-local and cloud
    metadata, CGNAT, ULA, unspecified ``0.0.0.0``, reserved, multicast, an IPv6 address embedding
    one of those), in any IPv4 form the resolver accepts. A host *name* is left to the connection,
    which resolves it and connects only to a public answer.

    The text is a predicate for the field (``"must not ..."``): the caller prefixes the field's name.
    """
    if any(c.isspace() or not c.isprintable() for c in url):
        return "must not contain whitespace or control characters"
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return "must be an http(s) URL"
    if parts.scheme not in ("http", "https") or not hostname:
        return "must be an http(s) URL with a host"
    if "@" in parts.netloc:
        return f"must not carry credentials (user:password@); {credentials_hint}"
    if allow_private:
        return None
    name = hostname.rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return f"must not point at this platform (localhost); an operator may allow it with {switch}"
    address = _literal_address(name)
    if address is not None and not public_address(address):
        shown = address if address == name else f"{name}, that is {address}"
        return (
            f"must not point at a private, loopback, link-local or reserved address ({shown}); "
            f"an operator may allow it with {switch}"
        )
    return None
