"""Credentials the platform issues (API keys), as other views may ask about them.

An auth method whose credentials live in the platform's database — the API-key extension's — also
answers two questions other parts of the API have: "which credential is this request using"
(``GET /api/me``) and "which of these credentials may this caller see" (the workspace's audit log
hides keys ranked above the caller, as ``/api/api-keys`` does). The kernel defines the questions
(:class:`CredentialIssuer`); the controllers find the issuer among the registered auth methods
(:func:`credential_issuer`) and never import the extension that answers them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol, runtime_checkable

import msgspec

from automatos.kernel.permissions import Role

__all__ = ["CredentialInfo", "CredentialIssuer", "credential_issuer"]


class CredentialInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A credential as its holder may see it: never its secret."""

    id: str
    name: str
    prefix: str
    workspace_id: str
    role: str
    scopes: tuple[str, ...]
    expires_at: datetime | None


@runtime_checkable
class CredentialIssuer(Protocol):
    """An auth method that issues credentials stored by the platform."""

    name: str
    """The auth method's name (``Principal.auth_method`` of the requests it authenticates)."""
    credential_type: str
    """The audit log's ``target_type`` of its credentials (``api_key``)."""

    async def describe_credential(self, credential_id: str) -> CredentialInfo | None:
        """The credential ``credential_id`` (``Principal.credential_id``), ``None`` when it is gone."""
        ...

    async def visible_credentials(
        self, workspace_id: str, credential_ids: Iterable[str], ceiling: Role | None
    ) -> set[str]:
        """Which of ``credential_ids`` (of ``workspace_id``) a caller ranked ``ceiling`` may see
        (``None``: no ceiling, every one that exists)."""
        ...


def credential_issuer(
    methods: Iterable[object], *, name: str | None = None, credential_type: str | None = None
) -> CredentialIssuer | None:
    """The registered auth method issuing credentials of that method ``name`` or ``credential_type``."""
    for method in methods:
        if isinstance(method, CredentialIssuer) and (
            (name is not None and method.name == name)
            or (credential_type is not None and method.credential_type == credential_type)
        ):
            return method
    return None
