"""Signatures (issue 11 item 7): ed25519 over every file's path and sha256; good, unsigned, wrong key,
one byte changed, one file renamed, an extra or a missing file; the deployment's policy."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile

import pytest

from automatos.kernel.errors import SettingsError
from automatos.kernel.settings import load_settings
from automatos.kernel.types import Severity
from automatos.marketplace.bundle import load_bundle
from automatos.marketplace.settings import MarketplaceSettings
from automatos.marketplace.signing import (
    SIGNATURE_NAME,
    SignatureError,
    generate_key,
    key_id,
    parse_public_key,
    public_key_of,
    sign_files,
    signature_finding,
    verify,
)

FILES = {
    "plugin.toml": b'name = "Hello"\nversion = "0.1.0"\nentry = "hello"\n',
    "hello/__init__.py": b"def register(ctx):\n    return None\n",
    "skills/greet.md": b"# Greet\nSay hello.\n",
}


@pytest.fixture(scope="module")
def keys() -> tuple[bytes, str]:
    return generate_key()


def signed(private_pem: bytes, files: dict[str, bytes] | None = None) -> dict[str, bytes]:
    files = dict(FILES if files is None else files)
    files[SIGNATURE_NAME] = sign_files(files, private_pem)
    return files


def test_a_key_is_ed25519_base64_and_its_id_is_16_hex(keys: tuple[bytes, str]) -> None:
    private_pem, public = keys
    assert public.startswith("ed25519:")
    raw = base64.b64decode(public.removeprefix("ed25519:"))
    assert len(raw) == 32
    kid, _ = parse_public_key(public)
    assert kid == key_id(raw) and len(kid) == 16
    assert public_key_of(private_pem) == public
    assert private_pem.startswith(b"-----BEGIN PRIVATE KEY-----")


def test_a_good_signature_is_valid(keys: tuple[bytes, str]) -> None:
    private_pem, public = keys
    files = signed(private_pem)
    document = json.loads(files[SIGNATURE_NAME])
    assert [f["path"] for f in document["files"]] == sorted(FILES)
    check = verify(files, [public])
    assert (check.state, check.key_id) == ("valid", parse_public_key(public)[0])
    assert signature_finding(check) is None


def test_an_unsigned_bundle_is_unsigned(keys: tuple[bytes, str]) -> None:
    check = verify(FILES, [keys[1]])
    assert check.state == "unsigned"
    finding = signature_finding(check)
    assert finding is not None and (finding.rule, finding.severity) == ("signature", Severity.LOW)


def test_a_signature_by_another_key_is_unknown_key(keys: tuple[bytes, str]) -> None:
    other_pem, _ = generate_key()
    check = verify(signed(other_pem), [keys[1]])
    assert check.state == "unknown-key"
    assert check.key_id == parse_public_key(public_key_of(other_pem))[0]
    finding = signature_finding(check)
    assert finding is not None and finding.severity == Severity.MEDIUM


def test_one_byte_changed_is_tampered(keys: tuple[bytes, str]) -> None:
    files = signed(keys[0])
    files["hello/__init__.py"] = files["hello/__init__.py"].replace(b"None", b"Nona")
    check = verify(files, [keys[1]])
    assert check.state == "tampered"
    assert "hello/__init__.py differs from the signed content" in check.reason
    finding = signature_finding(check)
    assert finding is not None and finding.severity == Severity.CRITICAL


def test_one_file_renamed_is_tampered(keys: tuple[bytes, str]) -> None:
    files = signed(keys[0])
    files["skills/welcome.md"] = files.pop("skills/greet.md")
    check = verify(files, [keys[1]])
    assert check.state == "tampered"
    assert "skills/greet.md is signed but missing" in check.reason
    assert "skills/welcome.md is not covered by the signature" in check.reason


def test_an_extra_file_is_tampered(keys: tuple[bytes, str]) -> None:
    files = signed(keys[0])
    files["hello/backdoor.py"] = b"import os\n"
    check = verify(files, [keys[1]])
    assert (check.state, check.reason) == ("tampered", "hello/backdoor.py is not covered by the signature")


def test_a_missing_file_is_tampered(keys: tuple[bytes, str]) -> None:
    files = signed(keys[0])
    del files["skills/greet.md"]
    check = verify(files, [keys[1]])
    assert (check.state, check.reason) == ("tampered", "skills/greet.md is signed but missing")


def test_a_listing_edited_to_match_changed_files_is_tampered(keys: tuple[bytes, str]) -> None:
    files = signed(keys[0])
    files["hello/__init__.py"] = b"import os; os.system('id')\n"
    document = json.loads(files[SIGNATURE_NAME])
    for item in document["files"]:
        if item["path"] == "hello/__init__.py":
            item["sha256"] = hashlib.sha256(files["hello/__init__.py"]).hexdigest()
    files[SIGNATURE_NAME] = json.dumps(document).encode()
    check = verify(files, [keys[1]])
    assert (check.state, check.reason) == ("tampered", "the SIGNATURE listing does not match its signature")


@pytest.mark.parametrize(
    "content",
    [b"not json", b'{"version": 1}', b'{"version":1,"key_id":"x","files":[],"signature":"***"}'],
)
def test_an_unreadable_signature_is_malformed(content: bytes, keys: tuple[bytes, str]) -> None:
    check = verify({**FILES, SIGNATURE_NAME: content}, [keys[1]])
    assert check.state == "malformed"
    finding = signature_finding(check)
    assert finding is not None and finding.severity == Severity.CRITICAL


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_production_requires_a_signature_by_default(keys: tuple[bytes, str]) -> None:
    assert load_settings({}).group(MarketplaceSettings).plugins_require_signature is False
    production = load_settings({"AUTOMATOS_ENV": "production", "PLUGINS_TRUSTED_KEYS": keys[1]})
    settings = production.group(MarketplaceSettings)
    assert settings.plugins_require_signature is True
    assert settings.plugins_trusted_keys == (keys[1],)
    relaxed = load_settings({"AUTOMATOS_ENV": "production", "PLUGINS_REQUIRE_SIGNATURE": "false"})
    assert relaxed.group(MarketplaceSettings).plugins_require_signature is False


def test_a_required_signature_refuses_unsigned_and_tampered_bundles(keys: tuple[bytes, str]) -> None:
    settings = load_settings({"PLUGINS_REQUIRE_SIGNATURE": "true", "PLUGINS_TRUSTED_KEYS": keys[1]}).group(
        MarketplaceSettings
    )
    good = load_bundle(_zip(signed(keys[0])), settings=settings)
    assert good.signature.state == "valid"
    assert not [f for f in good.findings if f.rule == "signature"]
    with pytest.raises(SignatureError) as caught:
        load_bundle(_zip(FILES), settings=settings)
    error = caught.value
    assert error.status_code == 422 and error.field == "bundle"
    assert (error.extra["rule"], error.extra["value"]) == ("signature.unsigned", "unsigned")
    assert "PLUGINS_REQUIRE_SIGNATURE" in error.detail
    tampered = signed(keys[0])
    tampered["plugin.toml"] += b"# changed\n"
    with pytest.raises(SignatureError) as caught:
        load_bundle(_zip(tampered), settings=settings)
    assert caught.value.extra["rule"] == "signature.tampered"
    assert "plugin.toml differs from the signed content" in caught.value.detail


def test_without_the_requirement_the_state_is_a_finding(keys: tuple[bytes, str]) -> None:
    settings = load_settings({"PLUGINS_TRUSTED_KEYS": keys[1]}).group(MarketplaceSettings)
    other_pem, _ = generate_key()
    bundle = load_bundle(_zip(signed(other_pem)), settings=settings)
    (finding,) = [f for f in bundle.findings if f.rule == "signature"]
    assert (bundle.signature.state, finding.severity) == ("unknown-key", Severity.MEDIUM)


def test_a_malformed_trusted_key_stops_startup() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"PLUGINS_TRUSTED_KEYS": "ed25519:tooshort"}).group(MarketplaceSettings)
    assert "PLUGINS_TRUSTED_KEYS" in str(caught.value)
