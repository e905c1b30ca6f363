"""Capability grants: what a caller asks a run to reach, checked against the workspace's own policy.

Who may be granted what (``docs/sandbox.md``):

- ``kv`` may be asked by anyone who may run: a key-value store in the namespace
  ``sandbox:<workspace id>:run`` of the platform's cache, shared by the workspace's runs and by
  nothing else;
- ``http`` reaches only hosts a workspace admin listed in the workspace setting
  ``sandbox_http_allow_hosts``; a requested host that list does not cover is a
  :class:`PermissionDeniedError` naming ``capabilities.http.allow_hosts``. The optional setting
  ``sandbox_http_allow_methods`` narrows the methods the same way (absent: any standard method).
  Non-public addresses stay closed unless the platform allows them (``SANDBOX_HTTP_ALLOW_PRIVATE``).

:func:`grant_capabilities` turns :class:`CapabilityGrants` into the capability objects a run gets;
the API and the marketplace runtime share it. It takes the workspace's settings as a mapping, so
it needs no feature that stores them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any

import msgspec

from automatos.kernel.errors import PermissionDeniedError, ValidationError
from automatos.sandbox.capabilities import HttpCapability, KVCapability, host_allowed, normalize_host
from automatos.sandbox.settings import HOSTS_SETTING, METHODS_SETTING

if TYPE_CHECKING:
    from automatos.kernel.backends import KVBackend
    from automatos.sandbox.types import Capability, Limits

__all__ = [
    "HOSTS_SETTING",
    "HTTP_MAX_RESPONSE_BYTES",
    "HTTP_TIMEOUT",
    "METHODS_SETTING",
    "CapabilityGrants",
    "HttpGrant",
    "grant_capabilities",
    "grants_summary",
    "kv_namespace",
    "workspace_http_policy",
]

log = logging.getLogger("automatos.sandbox.api")

HTTP_TIMEOUT = 10.0
"""Seconds one ``http`` call may take (at most the run's wall limit)."""
HTTP_MAX_RESPONSE_BYTES = 1_000_000

Method = Annotated[str, msgspec.Meta(pattern="^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS)$")]
Host = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]


class HttpGrant(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    allow_hosts: Annotated[list[Host], msgspec.Meta(min_length=1, max_length=50)]
    """Hosts the snippet may call (exact names, or ``*.example.com``); each must be covered by the
    workspace's ``sandbox_http_allow_hosts`` setting."""
    allow_methods: Annotated[list[Method], msgspec.Meta(min_length=1, max_length=7)] = msgspec.field(
        default_factory=lambda: ["GET"]
    )


class CapabilityGrants(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    kv: bool = False
    """A key-value store shared by the workspace's runs (namespace ``sandbox:<workspace id>:run``)."""
    http: HttpGrant | None = None


def kv_namespace(workspace_id: str) -> str:
    """The namespace of a workspace's ``kv`` capability in the platform's cache."""
    return f"sandbox:{workspace_id}:run"


def _setting_list(settings: Mapping[str, Any], key: str, workspace_id: str) -> list[str] | None:
    value = settings.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        log.warning("workspace %s: setting %s is not a list of strings; ignored", workspace_id, key)
        return []
    return value


def workspace_http_policy(settings: Mapping[str, Any], workspace_id: str) -> tuple[list[str], set[str] | None]:
    """The hosts (normalized) and methods (``None``: any) the workspace's settings allow ``http`` to reach."""
    hosts: list[str] = []
    for entry in _setting_list(settings, HOSTS_SETTING, workspace_id) or []:
        try:
            hosts.append(normalize_host(entry))
        except ValueError as exc:
            log.warning("workspace %s: %s entry ignored: %s", workspace_id, HOSTS_SETTING, exc)
    methods = _setting_list(settings, METHODS_SETTING, workspace_id)
    return hosts, None if methods is None else {m.upper() for m in methods}


def _http(
    grant: HttpGrant, workspace_settings: Mapping[str, Any], workspace_id: str, limits: Limits, allow_private: bool
) -> HttpCapability:
    field = "capabilities.http.allow_hosts"
    workspace_hosts, workspace_methods = workspace_http_policy(workspace_settings, workspace_id)
    hosts: list[str] = []
    for asked in grant.allow_hosts:
        try:
            host = normalize_host(asked)
        except ValueError as exc:
            raise ValidationError(f"{field}: {exc}", field=field) from None
        if not host_allowed(host, workspace_hosts):
            raise PermissionDeniedError(
                f"{field}: host {host!r} is not allowed in this workspace (a workspace admin lists the "
                f"hosts runs may reach in the workspace setting {HOSTS_SETTING})",
                field=field,
            )
        hosts.append(host)
    methods = sorted(set(grant.allow_methods))
    if workspace_methods is not None:
        refused = [m for m in methods if m not in workspace_methods]
        if refused:
            raise PermissionDeniedError(
                f"capabilities.http.allow_methods: {', '.join(refused)} not allowed in this workspace "
                f"(workspace setting {METHODS_SETTING})",
                field="capabilities.http.allow_methods",
            )
    return HttpCapability(
        hosts,
        methods,
        timeout=min(HTTP_TIMEOUT, limits.wall_seconds),
        max_response_bytes=HTTP_MAX_RESPONSE_BYTES,
        allow_private=allow_private,
    )


def grant_capabilities(
    grants: CapabilityGrants,
    *,
    workspace_id: str,
    workspace_settings: Mapping[str, Any],
    limits: Limits,
    kv: KVBackend,
    allow_private: bool,
) -> list[Capability]:
    """The capabilities a run in ``workspace_id`` gets for ``grants``; refusals raise naming the field.

    ``workspace_settings`` is the workspace's settings object, ``kv`` the platform's key-value
    backend, ``allow_private`` the platform's ``SANDBOX_HTTP_ALLOW_PRIVATE``.
    """
    capabilities: list[Capability] = []
    if grants.kv:
        capabilities.append(KVCapability(kv, kv_namespace(workspace_id)))
    if grants.http is not None:
        capabilities.append(_http(grants.http, workspace_settings, workspace_id, limits, allow_private))
    return capabilities


def grants_summary(capabilities: Sequence[Capability]) -> dict[str, Any]:
    """What was granted, for the log and the audit trail (hosts and methods; the kv namespace)."""
    summary: dict[str, Any] = {}
    for cap in capabilities:
        if isinstance(cap, HttpCapability):
            summary["http"] = {"allow_hosts": list(cap.allow_hosts), "allow_methods": list(cap.allow_methods)}
        elif isinstance(cap, KVCapability):
            summary["kv"] = cap.namespace
    return summary
