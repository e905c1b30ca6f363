"""Capabilities a sandboxed run may be granted: outbound HTTP to named hosts, and a namespaced key-value store.

A capability lives in the supervisor (the API process, or an ``automatos worker`` in queue mode); the
snippet only holds a proxy whose methods send JSON arguments here (see :mod:`automatos.sandbox.pool`).
Whatever a method raises reaches the snippet as a ``CapabilityError`` carrying ``str(exc)``: every
refusal below names what was refused (the host, the method, the key, the size) and nothing else —
never a header we hold, a credential or an address the snippet did not give.

- :class:`HttpCapability` (``http``: ``get``, ``post``, ``request``): ``http``/``https`` URLs whose host
  is on the run's allow list (exact, case-insensitive; ``*.example.com`` matches subdomains of
  ``example.com`` only) with an allowed method. Redirects are followed only to allowed hosts (at most
  :data:`MAX_REDIRECTS`); a redirect elsewhere is refused. Each call uses a fresh client that trusts
  nothing from the environment (no proxy variables, no ``.netrc``) and keeps no cookies. The response
  is ``{status, headers (a safe subset), text, truncated, url}``, the body cut at ``max_response_bytes``.
  Where a host *resolves* is checked when connecting, and the connection goes to the address that
  was checked (no second lookup a rebinding DNS could answer differently): a loopback, private,
  link-local, CGNAT, multicast or otherwise non-global address is refused unless the operator allows
  it (``SANDBOX_HTTP_ALLOW_PRIVATE``) — a workspace admin's allow list alone never opens the
  platform's own network or a cloud metadata endpoint. Compressed responses are not decoded (we ask
  for ``identity``; a compressed body is refused rather than inflated past the cap).
- :class:`KVCapability` (``kv``: ``get``, ``set``, ``delete``): JSON values under keys of
  ``[A-Za-z0-9_.\\-/]{1,200}`` in ``kv.with_namespace(namespace)``, so the snippet reaches no key
  outside its namespace; every value expires (``ttl`` at most ``max_ttl``, which is also the default).
  Writes are metered: at most ``max_run_bytes`` per run and ``max_window_bytes`` per namespace per
  ``max_ttl`` window (a counter in the same backend), so what a namespace can hold at any time is
  bounded too — values written in a window expire by the end of the next.

Each capability answers at most ``max_calls`` calls (one instance is made per run). ``spec()`` gives a
JSON description and :func:`capability_from_spec` rebuilds the capability from it — how a run is
shipped to a queue worker, which brings its own key-value backend.
"""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore
import httpx
import msgspec

from automatos.kernel.addresses import PublicOnlyBackend, embedded_ipv4, public_address
from automatos.kernel.backends import KVBackend
from automatos.sandbox.pool import CapabilityRefused as PoolCapabilityRefused

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

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
MAX_REDIRECTS = 5
MAX_HEADERS = 50
MAX_HEADER_BYTES = 8192
USER_AGENT = "automatos-sandbox"

_SAFE_RESPONSE_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "content-language",
        "cache-control",
        "etag",
        "expires",
        "last-modified",
        "date",
        "location",
        "retry-after",
        "link",
        "vary",
        "age",
    }
)
_SAFE_RESPONSE_PREFIXES = ("x-ratelimit-", "ratelimit-")
_REFUSED_REQUEST_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
        "expect",
        "proxy-authorization",
        "proxy-connection",
    }
)
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_KEY = re.compile(r"[A-Za-z0-9_.\-/]{1,200}")


class CapabilityRefused(PoolCapabilityRefused):
    """A capability call the grant does not cover; the message (seen by the snippet) says what and why."""


# --- hosts -------------------------------------------------------------------------------------------


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


def _url_host(url: httpx.URL) -> str:
    host = url.host.lower()
    return host[:-1] if host.endswith(".") else host


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


# --- calling ----------------------------------------------------------------------------------------


async def _dispatch(
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


class _Budget:
    def __init__(self, name: str, max_calls: int) -> None:
        self.name = name
        self.max_calls = max_calls
        self.calls = 0

    def spend(self) -> None:
        self.calls += 1
        if self.calls > self.max_calls:
            raise CapabilityRefused(f"at most {self.max_calls} {self.name} calls per run")


# --- http -------------------------------------------------------------------------------------------


class NonPublicAddress(httpcore.ConnectError):
    """The host resolves to an address the sandbox does not reach."""


def _non_public(host: str) -> NonPublicAddress:
    return NonPublicAddress(f"{host!r} resolves to a private or reserved address, which is not reachable")


def _transport(allow_private: bool) -> httpx.AsyncHTTPTransport:
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    if not allow_private:
        pool = transport._pool  # httpcore's pool: its network backend is where connections are made
        pool._network_backend = PublicOnlyBackend(
            pool._network_backend, connect_error=httpcore.ConnectError, refused=_non_public
        )
    return transport


class HttpCapability:
    """Outbound HTTP(S) to the allowed hosts with the allowed methods; see the module docstring."""

    name = "http"
    methods = frozenset({"get", "post", "request"})

    def __init__(
        self,
        allow_hosts: Iterable[str],
        allow_methods: Iterable[str] = ("GET",),
        timeout: float = 10.0,
        max_response_bytes: int = 1_000_000,
        *,
        max_request_bytes: int = 1_000_000,
        max_calls: int = 100,
        allow_private: bool = False,
    ) -> None:
        self.allow_private = bool(allow_private)
        """Whether non-public addresses may be reached (an operator's choice, ``SANDBOX_HTTP_ALLOW_PRIVATE``)."""
        self.allow_hosts: tuple[str, ...] = tuple(sorted({normalize_host(h) for h in allow_hosts}))
        methods = {str(m).upper() for m in allow_methods}
        unknown = sorted(methods - HTTP_METHODS)
        if unknown:
            raise ValueError(f"unknown HTTP method(s): {', '.join(unknown)}")
        self.allow_methods: tuple[str, ...] = tuple(sorted(methods))
        if not 0 < timeout <= 600:
            raise ValueError("timeout must be between 0 and 600 seconds")
        self.timeout = float(timeout)
        self.max_response_bytes = int(max_response_bytes)
        self.max_request_bytes = int(max_request_bytes)
        self.max_calls = int(max_calls)
        self._budget = _Budget("http", self.max_calls)

    def spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "allow_hosts": list(self.allow_hosts),
            "allow_methods": list(self.allow_methods),
            "timeout": self.timeout,
            "max_response_bytes": self.max_response_bytes,
            "max_request_bytes": self.max_request_bytes,
            "max_calls": self.max_calls,
            "allow_private": self.allow_private,
        }

    async def call(self, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        self._budget.spend()
        return await _dispatch(
            self.name, {"get": self.get, "post": self.post, "request": self.request}, method, args, kwargs
        )

    # the snippet's methods ----------------------------------------------------------------------

    async def get(self, url: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        return await self.request("GET", url, headers=headers)

    async def post(
        self, url: str, headers: dict[str, str] | None = None, json: Any = None, data: Any = None
    ) -> dict[str, Any]:
        return await self.request("POST", url, headers=headers, json=json, data=data)

    async def request(
        self, method: str, url: str, headers: dict[str, str] | None = None, json: Any = None, data: Any = None
    ) -> dict[str, Any]:
        verb = self._check_method(method)
        target = self._check_url(url)
        sent_headers = self._check_headers(headers)
        body: dict[str, Any] = {}
        if json is not None and data is not None:
            raise CapabilityRefused("give json or data, not both")
        if json is not None:
            body["content"] = msgspec.json.encode(json)
            sent_headers.setdefault("content-type", "application/json")
        elif isinstance(data, str):
            body["content"] = data.encode("utf-8")
        elif isinstance(data, dict):
            if not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
                raise CapabilityRefused("form data must map strings to strings")
            body["data"] = data
        elif data is not None:
            raise CapabilityRefused("data must be a string or an object of strings")
        size = (
            len(body["content"]) if "content" in body else sum(len(k) + len(v) for k, v in body.get("data", {}).items())
        )
        if size > self.max_request_bytes:
            raise CapabilityRefused(f"the request body is {size} bytes; at most {self.max_request_bytes}")
        try:
            async with asyncio.timeout(self.timeout):
                return await self._send(verb, target, sent_headers, body)
        except TimeoutError:
            raise CapabilityRefused(f"{verb} {_url_host(target)} timed out after {self.timeout:g} s") from None

    # checks -------------------------------------------------------------------------------------

    def _check_method(self, method: Any) -> str:
        if not isinstance(method, str) or method.upper() not in HTTP_METHODS:
            raise CapabilityRefused(f"method {method!r} is not an HTTP method")
        verb = method.upper()
        if verb not in self.allow_methods:
            raise CapabilityRefused(f"method {verb} is not allowed (allowed: {', '.join(self.allow_methods)})")
        return verb

    def _check_url(self, url: Any, *, redirect: bool = False) -> httpx.URL:
        if not isinstance(url, str | httpx.URL):
            raise CapabilityRefused("the URL must be a string")
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, ValueError, TypeError) as exc:
            raise CapabilityRefused(f"invalid URL: {exc}") from None
        what = "redirect to" if redirect else "URL"
        if parsed.scheme not in ("http", "https"):
            raise CapabilityRefused(f"{what} scheme {parsed.scheme!r} is not allowed (http and https only)")
        if parsed.userinfo:
            raise CapabilityRefused(f"{what} with credentials (user:password@) is not allowed")
        host = _url_host(parsed)
        if not host:
            raise CapabilityRefused(f"{what} has no host")
        if not host_allowed(host, self.allow_hosts):
            refused = "redirect to host" if redirect else "host"
            raise CapabilityRefused(f"{refused} {host!r} is not allowed (allowed: {', '.join(self.allow_hosts)})")
        return parsed

    def _check_headers(self, headers: Any) -> dict[str, str]:
        if headers is None:
            return {}
        if not isinstance(headers, dict) or len(headers) > MAX_HEADERS:
            raise CapabilityRefused(f"headers must be an object of at most {MAX_HEADERS} strings")
        checked: dict[str, str] = {}
        for name, value in headers.items():
            if not isinstance(value, str) or not _HEADER_NAME.fullmatch(name):
                raise CapabilityRefused(f"header {name!r} is not a valid name with a string value")
            if name.lower() in _REFUSED_REQUEST_HEADERS:
                raise CapabilityRefused(f"header {name!r} may not be set")
            if len(value.encode("utf-8", "replace")) > MAX_HEADER_BYTES or "\r" in value or "\n" in value:
                raise CapabilityRefused(f"header {name!r}: value too long or with a line break")
            checked[name.lower()] = value
        return checked

    # sending ------------------------------------------------------------------------------------

    async def _send(self, verb: str, url: httpx.URL, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        base_headers = {"user-agent": USER_AGENT, "accept-encoding": "identity", **headers}
        # a fresh client per call: no cookie jar shared between calls or runs; trust_env=False: no
        # proxy settings and no .netrc credentials of this process are used
        async with httpx.AsyncClient(
            follow_redirects=False,
            trust_env=False,
            timeout=self.timeout,
            headers=base_headers,
            transport=_transport(self.allow_private),
        ) as client:
            request = client.build_request(verb, url, **body)
            for _ in range(MAX_REDIRECTS + 1):
                try:
                    response = await client.send(request, stream=True)
                except httpx.HTTPError as exc:
                    raise CapabilityRefused(
                        f"{request.method} {_url_host(request.url)} failed: {_http_error(exc)}"
                    ) from None
                try:
                    next_request = response.next_request if response.is_redirect else None
                    if next_request is None:
                        return await self._read(response)
                finally:
                    await response.aclose()
                next_request.headers.pop("cookie", None)  # a redirect never carries cookies set on the way
                self._check_url(next_request.url, redirect=True)
                if next_request.method not in self.allow_methods:
                    raise CapabilityRefused(
                        f"redirect to {_url_host(next_request.url)!r} needs method {next_request.method}, "
                        "which is not allowed"
                    )
                request = next_request
        raise CapabilityRefused(f"more than {MAX_REDIRECTS} redirects")

    async def _read(self, response: httpx.Response) -> dict[str, Any]:
        cap = self.max_response_bytes
        chunks: list[bytes] = []
        size = 0
        truncated = False
        encoding_header = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding_header not in ("", "identity"):
            raise CapabilityRefused(
                f"the response of {_url_host(response.url)} is compressed ({encoding_header[:30]}), "
                "which is not supported (identity was asked for)"
            )
        try:
            async for chunk in response.aiter_raw():  # raw: nothing is inflated past the cap
                chunks.append(chunk[: cap + 1 - size])
                size += len(chunk)
                if size > cap:
                    truncated = True
                    break
        except httpx.HTTPError as exc:
            raise CapabilityRefused(
                f"reading the response of {_url_host(response.url)} failed: {_http_error(exc)}"
            ) from None
        raw = b"".join(chunks)[:cap]
        encoding = response.charset_encoding or "utf-8"
        try:
            text = raw.decode(encoding, "replace")
        except LookupError:
            text = raw.decode("utf-8", "replace")
        return {
            "status": response.status_code,
            "headers": {
                name: value
                for name, value in response.headers.items()
                if name in _SAFE_RESPONSE_HEADERS or name.startswith(_SAFE_RESPONSE_PREFIXES)
            },
            "text": text,
            "truncated": truncated,
            "url": str(response.url),
        }


def _http_error(exc: httpx.HTTPError) -> str:
    kind = type(exc).__name__
    if isinstance(exc, httpx.ConnectError) and isinstance(exc.__context__, NonPublicAddress | httpcore.ConnectError):
        reason = str(exc.__context__)
        if "resolves to" in reason or "could not be resolved" in reason:
            return reason
    if isinstance(exc, httpx.TimeoutException):
        return f"{kind} (timed out)"
    if isinstance(exc, httpx.ConnectError):
        return f"{kind} (could not connect)"
    return kind


# --- kv ---------------------------------------------------------------------------------------------


class KVCapability:
    """JSON values in one namespace of a key-value backend; see the module docstring."""

    name = "kv"
    methods = frozenset({"get", "set", "delete"})

    def __init__(
        self,
        kv: KVBackend,
        namespace: str,
        max_value_bytes: int = 65536,
        max_ttl: int = 86400,
        *,
        max_calls: int = 1000,
        max_run_bytes: int = 1_048_576,
        max_window_bytes: int = 16 * 1_048_576,
    ) -> None:
        if not isinstance(namespace, str) or not namespace:
            raise ValueError("a kv capability needs a non-empty namespace")
        if max_ttl <= 0 or max_value_bytes <= 0:
            raise ValueError("max_ttl and max_value_bytes must be positive")
        self.namespace = namespace
        self.max_value_bytes = int(max_value_bytes)
        self.max_ttl = int(max_ttl)
        self.max_calls = int(max_calls)
        self.max_run_bytes = int(max_run_bytes)
        self.max_window_bytes = int(max_window_bytes)
        self._kv = kv.with_namespace(namespace)
        self._meter = kv.with_namespace("sandbox-quota")
        self._budget = _Budget("kv", self.max_calls)
        self._written = 0

    def spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "namespace": self.namespace,
            "max_value_bytes": self.max_value_bytes,
            "max_ttl": self.max_ttl,
            "max_calls": self.max_calls,
            "max_run_bytes": self.max_run_bytes,
            "max_window_bytes": self.max_window_bytes,
        }

    async def call(self, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        self._budget.spend()
        return await _dispatch(
            self.name, {"get": self.get, "set": self.set, "delete": self.delete}, method, args, kwargs
        )

    @staticmethod
    def _check_key(key: Any) -> str:
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            shown = repr(key)[:60]
            raise CapabilityRefused(f"key {shown} is not 1-200 characters of letters, digits, '_', '.', '-', '/'")
        return key

    async def get(self, key: str, default: Any = None) -> Any:
        raw = await self._kv.get(self._check_key(key))
        if raw is None:
            return default
        try:
            return msgspec.json.decode(raw)
        except msgspec.DecodeError:
            raise CapabilityRefused(f"the value under {key!r} is not JSON") from None

    async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        key = self._check_key(key)
        if ttl is None:
            ttl = self.max_ttl
        if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not 0 < ttl <= self.max_ttl:
            raise CapabilityRefused(f"ttl must be a number of seconds above 0 and at most {self.max_ttl}")
        encoded = msgspec.json.encode(value)
        if len(encoded) > self.max_value_bytes:
            raise CapabilityRefused(f"the value is {len(encoded)} bytes as JSON; at most {self.max_value_bytes}")
        size = len(encoded) + len(key)
        if self._written + size > self.max_run_bytes:
            raise CapabilityRefused(f"this run may write at most {self.max_run_bytes} bytes to kv")
        window = await self._meter.incr(self.namespace.replace(":", "/"), size, ttl=float(self.max_ttl))
        if window > self.max_window_bytes:
            raise CapabilityRefused(
                f"this workspace's sandbox kv took {self.max_window_bytes} bytes of writes within "
                f"{self.max_ttl} s; try again later"
            )
        self._written += size
        await self._kv.set(key, encoded, ttl=float(ttl))

    async def delete(self, key: str) -> bool:
        return await self._kv.delete(self._check_key(key))


# --- specs ------------------------------------------------------------------------------------------


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
