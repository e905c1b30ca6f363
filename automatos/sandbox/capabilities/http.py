""":class:`HttpCapability` (``http``: ``get``, ``post``, ``request``): ``http``/``https`` URLs whose host
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
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx
import msgspec

from automatos.kernel.addresses import PublicOnlyBackend
from automatos.sandbox.capabilities.base import Budget, CapabilityRefused, dispatch, host_allowed, normalize_host

__all__ = ["HTTP_METHODS", "MAX_REDIRECTS", "HttpCapability", "NonPublicAddress"]

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


def _url_host(url: httpx.URL) -> str:
    host = url.host.lower()
    return host[:-1] if host.endswith(".") else host


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
        self._budget = Budget("http", self.max_calls)

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
        return await dispatch(
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
