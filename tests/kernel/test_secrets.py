"""Secrets at rest: workspace extension configuration is encrypted in the database.

Round trips, what the row holds (read with raw SQL), legacy plaintext rows, key rotation, a wrong
key (configuration treated as empty, an error logged without any secret), the key file, the
settings and their redaction, and end to end: a provider key PUT through the API reaches the
provider (a local OpenAI-compatible server sees it) while the database holds ciphertext only.
"""

from __future__ import annotations

import io
import json
import logging
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import text

from automatos.api.app import create_app
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from automatos.kernel.errors import SettingsError
from automatos.kernel.logging import configure_logging
from automatos.kernel.secrets import ENCRYPTED, KEY_FILE, SecretBox, SecretKeyError, fernet_key
from automatos.kernel.settings import Secret, load_settings
from automatos.kernel.types import Workspace
from tests.extensions.test_llm_providers import CONVERSATION, KEY, FakeOpenAI, LocalServer
from tests.helpers import make_container, running_kernel, serve_app
from tests.workspaces.helpers import new_workspace

OLD = secrets.token_hex(24)
NEW = secrets.token_hex(24)
OPENAI = "automatos.llm.openai"
PROVIDER_KEY = "sk-ws-" + secrets.token_hex(16)
CONFIG = {"api_key": PROVIDER_KEY, "base_url": "https://llm.example/v1", "max_retries": 0}


async def raw_configs(kernel: Kernel, workspace_id: str) -> dict[str, str]:
    """``workspace_extensions.config`` of a workspace as the database holds it (raw SQL, no ORM)."""
    async with kernel.engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT name, config FROM workspace_extensions WHERE workspace_id = :ws"), {"ws": workspace_id}
            )
        ).all()
    return {name: config if isinstance(config, str) else json.dumps(config) for name, config in rows}


def token_of(raw: str) -> str:
    stored = json.loads(raw)
    assert set(stored) == {ENCRYPTED}
    token: str = stored[ENCRYPTED]
    return token


async def workspace(kernel: Kernel, slug: str = "acme") -> Workspace:
    found = await kernel.store.get_workspace(slug)
    return found if found is not None else await new_workspace(kernel, slug, slug.title())


async def config_seen(kernel: Kernel, ws: Workspace, name: str = OPENAI) -> dict[str, Any]:
    """The configuration a freshly built view hands to extension ``name``."""
    view = await kernel.views.build(ws.id)
    return dict(view.configs.get(name, {}))


# --- the box ----------------------------------------------------------------------------------------


def test_round_trip_hides_values_and_key_names() -> None:
    box = SecretBox(NEW)
    stored = box.encrypt_config(CONFIG)
    assert set(stored) == {ENCRYPTED}
    dumped = json.dumps(stored)
    for leak in (PROVIDER_KEY, "api_key", "base_url", "llm.example", "max_retries"):
        assert leak not in dumped
    assert box.decrypt_config(stored) == CONFIG
    assert box.encrypt_config(CONFIG) != stored  # a fresh IV every time
    assert box.encrypt_config({}) == {} and box.decrypt_config({}) == {}
    # nested and non-ASCII values survive
    odd = {"headers": {"x": ["a", 1, None, True]}, "name": "clé ✓"}
    assert box.decrypt_config(box.encrypt_config(odd)) == odd


def test_plaintext_configs_pass_through() -> None:
    box = SecretBox(NEW)
    assert box.decrypt_config({"api_key": "sk-legacy"}) == {"api_key": "sk-legacy"}
    # only the exact {"$encrypted": "<str>"} shape is a token
    assert box.decrypt_config({ENCRYPTED: "x", "other": 1}) == {ENCRYPTED: "x", "other": 1}
    # a user config that happens to use the marker name is wrapped like any other
    tricky = {ENCRYPTED: "not a token"}
    assert box.decrypt_config(box.encrypt_config(tricky)) == tricky


def test_fernet_keys_are_used_as_is_and_other_strings_derived() -> None:
    raw = Fernet.generate_key()
    assert fernet_key(raw.decode()) == raw
    token = SecretBox(raw.decode()).encrypt(b"x")
    assert Fernet(raw).decrypt(token.encode()) == b"x"
    derived = fernet_key(NEW)
    assert derived != NEW.encode() and fernet_key(NEW) == derived  # deterministic
    assert Fernet(derived).decrypt(SecretBox(NEW).encrypt(b"y").encode()) == b"y"
    with pytest.raises(SettingsError, match="AUTOMATOS_SECRET_KEY is too short") as info:
        SecretBox("short-key")
    assert "short-key" not in str(info.value)


def test_a_token_no_key_opens_names_the_setting_not_the_token() -> None:
    token = SecretBox(OLD).encrypt_config(CONFIG)
    with pytest.raises(SecretKeyError) as info:
        SecretBox(NEW).decrypt_config(token)
    message = str(info.value)
    assert "AUTOMATOS_SECRET_KEY" in message and isinstance(info.value, SettingsError)
    for leak in (token[ENCRYPTED], OLD, NEW, PROVIDER_KEY):
        assert leak not in message
    with pytest.raises(SecretKeyError):
        SecretBox(NEW).decrypt_config({ENCRYPTED: "garbage-\u00e9"})


def test_rotation_in_the_box() -> None:
    old_box = SecretBox(OLD)
    token = old_box.encrypt_config(CONFIG)
    rotating = SecretBox(NEW, [OLD])
    assert rotating.decrypt_config(token) == CONFIG
    rotated = rotating.reencrypt_config(token)
    assert SecretBox(NEW).decrypt_config(rotated) == CONFIG
    with pytest.raises(SecretKeyError):
        old_box.decrypt_config(rotated)
    # a plaintext config is encrypted under the current key
    assert SecretBox(NEW).decrypt_config(rotating.reencrypt_config(CONFIG)) == CONFIG


def test_the_key_file_is_created_0600_on_first_use_and_reused(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path / "data")
    box = SecretBox.from_settings(settings)
    path = tmp_path / "data" / KEY_FILE
    assert not path.exists()  # not before it is needed
    stored = box.encrypt_config(CONFIG)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    content = path.read_bytes().strip()
    assert len(content) == 64
    again = SecretBox.from_settings(load_settings({}, data_dir=tmp_path / "data"))
    assert again.decrypt_config(stored) == CONFIG and path.read_bytes().strip() == content
    # a fresh data directory is a different key
    with pytest.raises(SecretKeyError, match=r"\.secret-key \(AUTOMATOS_SECRET_KEY is unset\)"):
        SecretBox.from_settings(load_settings({}, data_dir=tmp_path / "other")).decrypt_config(stored)
    # the setting wins and no file is made
    SecretBox.from_settings(load_settings({}, data_dir=tmp_path / "set", secret_key=NEW)).encrypt_config(CONFIG)
    assert not (tmp_path / "set" / KEY_FILE).exists()


# --- settings -----------------------------------------------------------------------------------


def test_settings_are_secrets_read_from_the_environment() -> None:
    settings = load_settings({"AUTOMATOS_SECRET_KEY": NEW, "AUTOMATOS_SECRET_KEY_PREVIOUS": f" {OLD} , {NEW[::-1]} "})
    assert isinstance(settings.secret_key, Secret) and settings.secret_key.reveal() == NEW
    assert isinstance(settings.secret_key_previous, Secret)
    assert NEW not in repr(settings) and OLD not in repr(settings)
    box = SecretBox.from_settings(settings)
    assert box.decrypt_config(SecretBox(NEW[::-1]).encrypt_config(CONFIG)) == CONFIG


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"AUTOMATOS_SECRET_KEY": "too-short-key"}, "AUTOMATOS_SECRET_KEY"),
        ({"AUTOMATOS_SECRET_KEY": NEW, "AUTOMATOS_SECRET_KEY_PREVIOUS": f"{OLD},too-short-key"}, "_PREVIOUS"),
    ],
)
def test_short_keys_stop_startup_without_showing_them(env: dict[str, str], name: str) -> None:
    with pytest.raises(SettingsError, match=f"{name} is too short") as info:
        load_settings(env)
    assert "too-short-key" not in str(info.value) and OLD not in str(info.value)


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    yield stream
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def test_the_keys_are_redacted_from_logs(log_stream: io.StringIO) -> None:
    retired = secrets.token_hex(24)
    settings = load_settings({}, secret_key=NEW, secret_key_previous=f"{OLD},{retired}")
    configure_logging(settings, stream=log_stream)
    SecretBox.from_settings(settings)  # each retired key is masked on its own, not only the whole list
    log = logging.getLogger("automatos.tests.secrets")
    log.warning("keys %s and %s and %s", NEW, OLD, retired)
    log.warning("settings %r", settings)
    output = log_stream.getvalue()
    assert output.count("**********") >= 3
    for leak in (NEW, OLD, retired):
        assert leak not in output


# --- in the kernel ------------------------------------------------------------------------------


async def test_the_row_holds_ciphertext_and_the_view_the_config(tmp_path: Path) -> None:
    async with running_kernel(tmp_path, secret_key=NEW) as kernel:
        ws = await workspace(kernel)
        await kernel.set_extension(ws, OPENAI, enabled=True, config=CONFIG)
        await kernel.set_extension(ws, "tests.everything", enabled=True, config={})
        raw = await raw_configs(kernel, ws.id)
        for leak in (PROVIDER_KEY, "api_key", "base_url", "llm.example", "max_retries"):
            assert leak not in raw[OPENAI]
        assert SecretBox(NEW).decrypt_config(json.loads(raw[OPENAI])) == CONFIG
        assert json.loads(raw["tests.everything"]) == {}
        assert (await kernel.view_for(ws)).configs[OPENAI] == CONFIG
        assert await config_seen(kernel, ws) == CONFIG
        # switching it off and on keeps the config (re-encrypted, still not in clear)
        await kernel.set_extension(ws, OPENAI, enabled=False)
        await kernel.set_extension(ws, OPENAI, enabled=True)
        assert await config_seen(kernel, ws) == CONFIG
        assert PROVIDER_KEY not in (await raw_configs(kernel, ws.id))[OPENAI]
        # the audit log records that the config changed, not what it is
        async with kernel.engine.connect() as conn:
            entries = (await conn.execute(text("SELECT action, data FROM audit_log"))).all()
        assert any(action == "extension.enabled" for action, _ in entries)
        assert PROVIDER_KEY not in repr(entries)


async def test_plaintext_rows_still_load_and_are_encrypted_on_their_next_write(tmp_path: Path) -> None:
    async with running_kernel(tmp_path, secret_key=NEW) as kernel:
        ws = await workspace(kernel)
        async with kernel.store.sessionmaker.begin() as session:  # a row written before encryption existed
            session.add(m.WorkspaceExtension(workspace_id=ws.id, name=OPENAI, enabled=True, config=dict(CONFIG)))
        assert PROVIDER_KEY in (await raw_configs(kernel, ws.id))[OPENAI]
        assert await config_seen(kernel, ws) == CONFIG
        await kernel.set_extension(ws, OPENAI, enabled=False)  # a write that does not touch the config
        raw = (await raw_configs(kernel, ws.id))[OPENAI]
        assert PROVIDER_KEY not in raw and "api_key" not in raw
        assert SecretBox(NEW).decrypt_config(json.loads(raw)) == CONFIG
        assert await config_seen(kernel, ws) == CONFIG


async def test_rotation_reads_with_previous_and_writes_with_current(tmp_path: Path) -> None:
    async with running_kernel(tmp_path, secret_key=OLD) as kernel:
        ws = await workspace(kernel)
        await kernel.set_extension(ws, OPENAI, enabled=True, config=CONFIG)
        old_token = token_of((await raw_configs(kernel, ws.id))[OPENAI])
    Fernet(fernet_key(OLD)).decrypt(old_token.encode())

    async with running_kernel(tmp_path, secret_key=NEW, secret_key_previous=OLD) as kernel:
        ws = await workspace(kernel)
        assert await config_seen(kernel, ws) == CONFIG  # read with the previous key
        await kernel.set_extension(ws, OPENAI, enabled=True)  # any write re-encrypts
        new_token = token_of((await raw_configs(kernel, ws.id))[OPENAI])
        assert new_token != old_token
        assert json.loads(Fernet(fernet_key(NEW)).decrypt(new_token.encode())) == CONFIG
        with pytest.raises(InvalidToken):
            Fernet(fernet_key(OLD)).decrypt(new_token.encode())

    async with running_kernel(tmp_path, secret_key=NEW) as kernel:  # the retired key is no longer needed
        assert await config_seen(kernel, await workspace(kernel)) == CONFIG


async def test_a_wrong_key_empties_the_config_and_logs_an_error_without_secrets(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_kernel(tmp_path, secret_key=OLD) as kernel:
        ws = await workspace(kernel)
        await kernel.set_extension(ws, OPENAI, enabled=True, config=CONFIG)
        token = token_of((await raw_configs(kernel, ws.id))[OPENAI])

    caplog.set_level(logging.ERROR, logger="automatos.store")
    async with running_kernel(tmp_path, secret_key=NEW) as kernel:
        ws = await workspace(kernel)
        view = await kernel.view_for(ws)  # no crash: the view is built
        assert dict(view.configs[OPENAI]) == {}
        assert OPENAI not in view.hidden  # still enabled: only its configuration is gone
        providers = await kernel.hooks.llm_providers(view, ws)
        assert "openai" not in providers.items and providers.errors == []  # no key: no OpenAI provider
        errors = [r for r in caplog.records if r.name == "automatos.store" and r.levelno == logging.ERROR]
        assert errors, "the undecryptable configuration was not logged"
        message = errors[0].getMessage()
        assert "AUTOMATOS_SECRET_KEY" in message and ws.id in message and OPENAI in message
        everything_logged = caplog.text
        for leak in (token, PROVIDER_KEY, OLD, NEW):
            assert leak not in everything_logged
        # a write that does not replace the config leaves the unreadable token as it was
        await kernel.set_extension(ws, OPENAI, enabled=False)
        assert token_of((await raw_configs(kernel, ws.id))[OPENAI]) == token

    async with running_kernel(tmp_path, secret_key=OLD) as kernel:  # the right key reads it again
        assert await config_seen(kernel, await workspace(kernel)) == CONFIG


# --- end to end through the API -------------------------------------------------------------------


@pytest.fixture(scope="module")
def openai_server() -> Iterator[tuple[FakeOpenAI, str]]:
    app = FakeOpenAI()
    with LocalServer(app) as server:
        yield app, server.url


async def test_a_key_put_through_the_api_reaches_the_provider_and_is_ciphertext_in_the_database(
    tmp_path: Path, openai_server: tuple[FakeOpenAI, str]
) -> None:
    api, url = openai_server
    # the fake provider listens on loopback: the operator's switch (a kernel setting) allows it
    app = create_app(make_container(tmp_path, secret_key=NEW, llm_allow_private_base_url=True))
    async with serve_app(app) as client:
        kernel: Kernel = app.state["kernel"]
        async with kernel.store.sessionmaker.begin() as session:
            session.add(m.User(id="alice", email="alice@example.com", display_name="alice"))
        alice = {"X-Test-User": "alice"}
        created = await client.post("/api/workspaces", json={"slug": "keys", "name": "Keys"}, headers=alice)
        assert created.status_code == 201, created.text
        ws_id = created.json()["id"]
        config = {"api_key": KEY, "base_url": f"{url}/v1", "max_retries": 0}

        put = await client.put(
            f"/api/workspaces/{ws_id}/extensions/{OPENAI}", json={"enabled": True, "config": config}, headers=alice
        )
        assert put.status_code == 200, put.text
        assert put.json()["configured"] is True and put.json()["enabled"] is True
        listed = await client.get(f"/api/workspaces/{ws_id}/extensions", headers=alice)
        audit = await client.get(f"/api/workspaces/{ws_id}/audit", headers=alice)
        for response in (put, listed, audit):  # the API never echoes the config
            assert response.status_code == 200, response.text
            assert KEY not in response.text and url not in response.text

        raw = (await raw_configs(kernel, ws_id))[OPENAI]
        for leak in (KEY, "api_key", "base_url", url, "127.0.0.1"):
            assert leak not in raw
        token_of(raw)

        # the provider built for this workspace sends the workspace's key
        ws = await kernel.store.get_workspace(ws_id)
        assert ws is not None
        providers = await kernel.hooks.llm_providers(await kernel.view_for(ws), ws)
        assert providers.errors == []
        answer = await providers.items["openai"].complete(CONVERSATION, model="echo-secrets")
        assert answer.finish_reason == "stop"
        assert api.seen("echo-secrets")[-1].headers["authorization"] == f"Bearer {KEY}"
