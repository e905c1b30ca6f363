"""Publisher signatures: ed25519 over the list of every file's path and sha256, carried in the bundle.

A signed bundle holds a ``SIGNATURE`` file at its root::

    {"version": 1, "key_id": "3f1c…", "files": [{"path": "plugin.toml", "sha256": "…"}, …],
     "signature": "<base64 of 64 bytes>"}

``files`` lists every file of the bundle but ``SIGNATURE`` itself, sorted by path; the signature
covers the canonical JSON of ``{"files", "key_id", "version"}`` (sorted keys, no spaces, ASCII), so
names are bound as well as contents: a renamed, added, removed or changed file breaks it.

A public key is written ``ed25519:<base64 of the raw 32 bytes>``; its id is the first 16 hex
digits of the sha256 of those bytes. A deployment trusts the keys listed in
``PLUGINS_TRUSTED_KEYS``. :func:`verify` gives a :class:`SignatureCheck`: ``valid``, ``unsigned``,
``unknown-key`` (signed, by a key not trusted here), ``tampered`` (the files do not match what was
signed) or ``malformed``. :func:`check_signature` applies the deployment's policy: with
``PLUGINS_REQUIRE_SIGNATURE`` anything but ``valid`` is refused (:class:`SignatureError`), without
it the state is a ``signature`` finding (unsigned: low, unknown key: medium, tampered or malformed:
critical).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from automatos.kernel.types import ScanFinding, Severity
from automatos.marketplace.archive import BundleError

if TYPE_CHECKING:
    from automatos.marketplace.bundle import Bundle
    from automatos.marketplace.settings import MarketplaceSettings

__all__ = [
    "SIGNATURE_NAME",
    "SignatureCheck",
    "SignatureError",
    "SignatureState",
    "check_signature",
    "generate_key",
    "key_id",
    "parse_public_key",
    "public_key_of",
    "sign_files",
    "signature_finding",
    "signature_policy",
    "verify",
]

SIGNATURE_NAME = "SIGNATURE"
PREFIX = "ed25519:"
SignatureState = Literal["valid", "unsigned", "unknown-key", "tampered", "malformed"]

SEVERITY: Mapping[str, Severity] = {
    "unsigned": Severity.LOW,
    "unknown-key": Severity.MEDIUM,
    "tampered": Severity.CRITICAL,
    "malformed": Severity.CRITICAL,
}


class SignatureCheck(msgspec.Struct, frozen=True, kw_only=True):
    """What :func:`verify` found: the state, the signing key's id (when there is one), why."""

    state: SignatureState
    key_id: str | None = None
    reason: str = ""

    @property
    def valid(self) -> bool:
        return self.state == "valid"


class SignatureError(BundleError):
    """A bundle refused because this deployment requires a valid signature and it has none."""

    def __init__(self, check: SignatureCheck) -> None:
        super().__init__(
            f"the bundle's signature is {check.state}: {check.reason}; this deployment requires a signature "
            "by a trusted key (PLUGINS_REQUIRE_SIGNATURE)",
            f"signature.{check.state}",
            "signed by a key of PLUGINS_TRUSTED_KEYS",
            check.state,
            SIGNATURE_NAME,
        )
        self.check = check


def key_id(raw_public: bytes) -> str:
    """First 16 hex digits of the sha256 of the raw 32-byte public key."""
    return hashlib.sha256(raw_public).hexdigest()[:16]


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def generate_key() -> tuple[bytes, str]:
    """A new key pair: (private key as unencrypted PKCS#8 PEM, public key as ``ed25519:<base64>``)."""
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem, PREFIX + base64.b64encode(_raw(private.public_key())).decode("ascii")


def _load_private(private_pem: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(private_pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the private key is not an ed25519 key")
    return key


def public_key_of(private_pem: bytes) -> str:
    """The ``ed25519:<base64>`` public key of a private key."""
    return PREFIX + base64.b64encode(_raw(_load_private(private_pem).public_key())).decode("ascii")


def parse_public_key(text: str) -> tuple[str, Ed25519PublicKey]:
    """``ed25519:<base64 of 32 bytes>`` -> (key id, key); ``ValueError`` naming what is wrong."""
    text = text.strip()
    if not text.startswith(PREFIX):
        raise ValueError(f"a public key is written {PREFIX}<base64 of 32 bytes>")
    try:
        raw = base64.b64decode(text[len(PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the public key is not valid base64") from None
    if len(raw) != 32:
        raise ValueError(f"an ed25519 public key has 32 bytes, this one {len(raw)}")
    return key_id(raw), Ed25519PublicKey.from_public_bytes(raw)


def _listing(files: Mapping[str, bytes]) -> list[dict[str, str]]:
    return [
        {"path": path, "sha256": hashlib.sha256(data).hexdigest()}
        for path, data in sorted(files.items())
        if path != SIGNATURE_NAME
    ]


def _canonical(version: int, kid: str, listing: list[dict[str, str]]) -> bytes:
    body = {"version": version, "key_id": kid, "files": listing}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def sign_files(files: Mapping[str, bytes], private_pem: bytes) -> bytes:
    """The content of a ``SIGNATURE`` file for ``files`` (any ``SIGNATURE`` among them is left out)."""
    private = _load_private(private_pem)
    kid = key_id(_raw(private.public_key()))
    listing = _listing(files)
    signature = private.sign(_canonical(1, kid, listing))
    document = {
        "version": 1,
        "key_id": kid,
        "files": listing,
        "signature": base64.b64encode(signature).decode("ascii"),
    }
    return (json.dumps(document, indent=1, ensure_ascii=True) + "\n").encode("ascii")


class _Listed(msgspec.Struct, forbid_unknown_fields=True):
    path: str
    sha256: str


class _Document(msgspec.Struct, forbid_unknown_fields=True):
    version: int
    key_id: str
    files: list[_Listed]
    signature: str


def verify(files: Mapping[str, bytes], trusted_keys: Iterable[str]) -> SignatureCheck:
    """Check ``files``' ``SIGNATURE`` against ``trusted_keys`` (``ed25519:…`` strings)."""
    content = files.get(SIGNATURE_NAME)
    if content is None:
        return SignatureCheck(state="unsigned", reason="the bundle has no SIGNATURE file")
    try:
        document = msgspec.json.decode(content, type=_Document)
        signature = base64.b64decode(document.signature, validate=True)
    except (msgspec.DecodeError, binascii.Error, ValueError) as exc:
        return SignatureCheck(state="malformed", reason=f"SIGNATURE cannot be read: {exc}")
    if document.version != 1:
        return SignatureCheck(state="malformed", key_id=document.key_id, reason=f"unknown version {document.version}")
    keys: dict[str, Ed25519PublicKey] = {}
    for text in trusted_keys:
        kid, key = parse_public_key(text)
        keys[kid] = key
    trusted = keys.get(document.key_id)
    if trusted is None:
        return SignatureCheck(
            state="unknown-key",
            key_id=document.key_id,
            reason=f"signed by key {document.key_id}, which this deployment does not trust",
        )
    listing: list[dict[str, Any]] = [{"path": f.path, "sha256": f.sha256} for f in document.files]
    try:
        trusted.verify(signature, _canonical(document.version, document.key_id, listing))
    except InvalidSignature:
        return SignatureCheck(
            state="tampered", key_id=document.key_id, reason="the SIGNATURE listing does not match its signature"
        )
    return _compare(document, files)


def _compare(document: _Document, files: Mapping[str, bytes]) -> SignatureCheck:
    """The signed listing against the files present: changed, missing and unlisted files."""
    signed = {f.path: f.sha256 for f in document.files}
    present = {item["path"]: item["sha256"] for item in _listing(files)}
    problems: list[str] = []
    for path in sorted(signed.keys() - present.keys()):
        problems.append(f"{path} is signed but missing")
    for path in sorted(present.keys() - signed.keys()):
        problems.append(f"{path} is not covered by the signature")
    for path in sorted(signed.keys() & present.keys()):
        if signed[path] != present[path]:
            problems.append(f"{path} differs from the signed content")
    if problems:
        shown = "; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else "")
        return SignatureCheck(state="tampered", key_id=document.key_id, reason=shown)
    return SignatureCheck(state="valid", key_id=document.key_id, reason=f"signed by trusted key {document.key_id}")


def signature_finding(check: SignatureCheck) -> ScanFinding | None:
    """The ``signature`` finding for a bundle that is not validly signed (``None`` when it is)."""
    if check.valid:
        return None
    return ScanFinding(
        rule="signature",
        severity=SEVERITY[check.state],
        message=f"signature {check.state}: {check.reason}",
        path=SIGNATURE_NAME,
    )


def signature_policy(check: SignatureCheck, *, required: bool) -> ScanFinding | None:
    """Required and not valid: raise :class:`SignatureError`; otherwise the finding, if any."""
    if required and not check.valid:
        raise SignatureError(check)
    return signature_finding(check)


def check_signature(bundle: Bundle, settings: MarketplaceSettings) -> ScanFinding | None:
    """Verify ``bundle`` against the deployment's trusted keys and apply its policy.

    Records the outcome in ``bundle.signature``; raises :class:`SignatureError` when signatures are
    required and this one is not valid; otherwise returns the ``signature`` finding (or ``None``).
    """
    check = verify(bundle.files, settings.plugins_trusted_keys)
    bundle.signature = check
    return signature_policy(check, required=settings.plugins_require_signature)
