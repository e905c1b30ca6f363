"""Capabilities a sandboxed run may be granted: outbound HTTP to named hosts, and a namespaced key-value store.

A capability lives in the supervisor (the API process, or an ``automatos worker`` in queue mode); the
snippet only holds a proxy whose methods send JSON arguments here (see :mod:`automatos.sandbox.pool`).
Whatever a method raises reaches the snippet as a ``CapabilityError`` carrying ``str(exc)``: every
refusal below names what was refused (the host, the method, the key, the size) and nothing else —
never a header we hold, a credential or an address the snippet did not give.

- :class:`~automatos.sandbox.capabilities.http.HttpCapability` (``http``: ``get``, ``post``,
  ``request``): outbound HTTP(S) to allowed hosts with allowed methods, never to a non-public
  address unless the operator allows it (:mod:`automatos.sandbox.capabilities.http`).
- :class:`~automatos.sandbox.capabilities.kv.KVCapability` (``kv``: ``get``, ``set``, ``delete``): JSON
  values in one namespace of a key-value backend, metered (:mod:`automatos.sandbox.capabilities.kv`).

What they share (the refusal the snippet sees, host allow lists, dispatch, call budgets) is in
:mod:`automatos.sandbox.capabilities.base`. Each capability answers at most ``max_calls`` calls
(one instance is made per run). ``spec()`` gives a JSON description and :func:`capability_from_spec`
rebuilds the capability from it — how a run is shipped to a queue worker, which brings its own
key-value backend. Who may be granted which capability is decided in :mod:`automatos.sandbox.grants`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from automatos.kernel.addresses import embedded_ipv4, public_address
from automatos.sandbox.capabilities.base import CapabilityRefused, host_allowed, normalize_host
from automatos.sandbox.capabilities.http import HTTP_METHODS, MAX_REDIRECTS, HttpCapability
from automatos.sandbox.capabilities.kv import KVCapability

if TYPE_CHECKING:
    from automatos.kernel.backends import KVBackend

__all__ = [
    "HTTP_METHODS",
    "MAX_REDIRECTS",
    "CapabilityRefused",
    "HttpCapability",
    "KVCapability",
    "capability_from_spec",
    "embedded_ipv4",
    "host_allowed",
    "normalize_host",
    "public_address",
]


def _int(spec: dict[str, Any], key: str, default: int) -> int:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"capability spec: {key} must be an integer")
    return value


def capability_from_spec(spec: dict[str, Any], *, kv: KVBackend | None) -> HttpCapability | KVCapability:
    """The capability ``spec`` (from ``.spec()``) describes; ``kv`` is the backend a ``kv`` spec needs.

    ``ValueError`` names what is wrong with a malformed spec.
    """
    if not isinstance(spec, dict):
        raise ValueError("capability spec must be an object")
    name = spec.get("name")
    if name == "http":
        hosts, methods = spec.get("allow_hosts"), spec.get("allow_methods", ["GET"])
        if not isinstance(hosts, list) or not isinstance(methods, list):
            raise ValueError("capability spec: allow_hosts and allow_methods must be lists")
        timeout = spec.get("timeout", 10.0)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise ValueError("capability spec: timeout must be a number")
        return HttpCapability(
            hosts,
            methods,
            float(timeout),
            _int(spec, "max_response_bytes", 1_000_000),
            max_request_bytes=_int(spec, "max_request_bytes", 1_000_000),
            max_calls=_int(spec, "max_calls", 100),
            allow_private=spec.get("allow_private") is True,
        )
    if name == "kv":
        if kv is None:
            raise ValueError("capability spec: a kv capability needs a key-value backend")
        namespace = spec.get("namespace")
        if not isinstance(namespace, str) or not namespace:
            raise ValueError("capability spec: namespace must be a non-empty string")
        return KVCapability(
            kv,
            namespace,
            _int(spec, "max_value_bytes", 65536),
            _int(spec, "max_ttl", 86400),
            max_calls=_int(spec, "max_calls", 1000),
            max_run_bytes=_int(spec, "max_run_bytes", 1_048_576),
            max_window_bytes=_int(spec, "max_window_bytes", 16 * 1_048_576),
        )
    raise ValueError(f"unknown capability {name!r}")
