"""The installed command, the two README commands, CI, and docker-compose."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.services import free_port

ROOT = Path(__file__).parents[1]
AUTOMATOS = str(Path(sys.executable).parent / "automatos")


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "S3_"))}
    full_env.update(env or {})
    return subprocess.run([AUTOMATOS, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120)


def test_db_upgrade_creates_the_embedded_database_only_when_asked(tmp_path: Path) -> None:
    refused = _run(["db", "upgrade"], tmp_path)
    assert refused.returncode == 2 and "--init" in refused.stderr
    assert not (tmp_path / "automatos-data").exists()
    assert _run(["db", "current"], tmp_path).returncode == 2
    result = _run(["db", "upgrade", "--init"], tmp_path)
    assert result.returncode == 0, result.stderr
    data_dir = tmp_path / "automatos-data"
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700  # the data files are private
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in data_dir.iterdir()} == {"automatos.db": 0o600}
    from automatos.kernel.db.migrate import head
    from tests.helpers import migrations

    current = _run(["db", "current"], tmp_path)
    assert current.stdout.strip() == head(migrations())


def test_extensions_list_json(tmp_path: Path) -> None:
    result = _run(["extensions", "list", "--json"], tmp_path)
    assert result.returncode == 0, result.stderr
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["automatos.storage.local"]["state"] == "loaded"
    assert rows["hello"]["distribution"] == "automatos-hello"


def test_extensions_and_settings_commands(tmp_path: Path) -> None:
    disabled = _run(["extensions", "disable", "--init", "--workspace", "default", "hello"], tmp_path)
    assert disabled.returncode == 0, disabled.stderr
    assert "hello disabled in default (version 1)" in disabled.stdout
    refused = _run(["extensions", "disable", "--workspace", "default", "automatos.cache.memory"], tmp_path)
    assert refused.returncode == 1 and "essential" in refused.stderr
    assert _run(["settings", "set", "LLM_MODEL", "gpt-x"], tmp_path).returncode == 0
    listed = _run(["settings", "list"], tmp_path).stdout
    assert "LLM_MODEL" in listed and "gpt-x" in listed and "system_settings" in listed
    bad = _run(["settings", "set", "LLM_MODEL_TYPO", "x"], tmp_path)
    assert bad.returncode == 1 and "cannot be changed at run time" in bad.stderr


def test_malformed_setting_stops_with_the_variable_named(tmp_path: Path) -> None:
    result = _run(["db", "upgrade"], tmp_path, {"AUTOMATOS_PORT": "http"})
    assert result.returncode != 0
    assert "AUTOMATOS_PORT='http' is malformed: expected integer 1-65535" in result.stderr


@pytest.mark.parametrize(
    ("args", "variable", "message"),
    [
        (["serve", "--port", "1"], "SANDBOX_POOL_SIZE=0", "SANDBOX_POOL_SIZE=0 is out of range: expected integer 1-64"),
        (["db", "current"], "OPENAI_BASE_URL=not-a-url", "OPENAI_BASE_URL='not-a-url' is out of range"),
        (["db", "upgrade", "--init"], "JWKS_CACHE_SECONDS=-1", "JWKS_CACHE_SECONDS"),
    ],
)
def test_a_malformed_setting_of_any_owner_stops_a_command_before_it_starts(
    tmp_path: Path, args: list[str], variable: str, message: str
) -> None:
    # the settings of feature packages and extensions live in their own structs; every command
    # still checks them all first: one line naming the variable, nothing created, nothing migrated
    name, _, value = variable.partition("=")
    result = _run(args, tmp_path, {name: value})
    assert result.returncode == 1, result.stdout + result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "listening" not in result.stdout
    assert not (tmp_path / "automatos-data").exists()


def _docker_healthcheck() -> str:
    """The shell command of the Dockerfile's HEALTHCHECK."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    line = next(line for line in text.splitlines() if line.startswith("HEALTHCHECK"))
    return line.split(" CMD ", 1)[1].strip()


def test_serve_answers_health_and_shuts_down_gracefully(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "S3_"))}
    proc = subprocess.Popen(
        [AUTOMATOS, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        body = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=2) as response:
                    body = json.loads(response.read())
                    break
            except OSError:
                time.sleep(0.2)
        assert body is not None and body["status"] == "ready", "server did not become ready"
        healthy = subprocess.run(["sh", "-c", _docker_healthcheck()], env={**env, "AUTOMATOS_PORT": str(port)})
        assert healthy.returncode == 0
        unhealthy = subprocess.run(
            ["sh", "-c", _docker_healthcheck()], env={**env, "AUTOMATOS_PORT": str(free_port())}, capture_output=True
        )
        assert unhealthy.returncode == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    # uvicorn re-raises SIGTERM once its graceful shutdown is done
    assert proc.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
    assert f"Automatos listening on http://127.0.0.1:{port}" in output
    assert (tmp_path / "automatos-data" / "automatos.db").exists()


def test_readme_starts_with_the_two_commands_and_ci_runs_the_test_one() -> None:
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```")[1]
    assert "./scripts/serve" in first_block and "./scripts/test" in first_block
    assert "./scripts/test" in (ROOT / ".ci" / "run").read_text()
    for script in ("serve", "test"):
        assert os.access(ROOT / "scripts" / script, os.X_OK)


def test_docker_compose_is_valid_and_has_the_production_shape() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"api", "worker", "scanner", "postgres", "redis", "minio"} <= set(services)
    assert "pgvector" in services["postgres"]["image"]
    assert services["worker"]["command"] == ["automatos", "worker", "--queue", "sandbox"]
    assert services["scanner"]["command"] == ["automatos", "worker", "--queue", "marketplace"]
    assert "profiles" not in services["worker"] and "profiles" not in services["scanner"]
    assert services["api"]["environment"]["SANDBOX_MODE"] == "queue"
    assert services["api"]["environment"]["PLUGINS_SCAN_MODE"] == "queue"
    scanner_env = services["scanner"]["environment"]
    assert scanner_env["PLUGINS_SCAN_QUEUE_NAME"] == services["api"]["environment"]["PLUGINS_SCAN_QUEUE_NAME"]
    assert "S3_BUCKET" in scanner_env and not any(name.startswith(("DATABASE", "POSTGRES")) for name in scanner_env)
    worker_env = {k: str(v) for k, v in services["worker"]["environment"].items()}
    assert not any(name.startswith(("AWS_", "DATABASE", "POSTGRES")) for name in worker_env)  # no credentials
    env = services["api"]["environment"]
    for variable in ("DATABASE_URL", "REDIS_URL", "S3_BUCKET", "S3_ENDPOINT_URL"):
        assert variable in env
    from automatos.kernel.settings import load_settings

    settings = load_settings({k: str(v) for k, v in env.items()})
    assert [settings.pick(f) for f in ("blob", "kv", "pubsub", "vector")] == ["s3", "redis", "redis", "pgvector"]


@pytest.mark.parametrize("name", ["hooks.md", "extensions.md", "operations.md"])
def test_docs_exist(name: str) -> None:
    assert len((ROOT / "docs" / name).read_text()) > 500


def test_docker_image_is_built_from_the_lock_with_every_extra_and_checks_health() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install --no-cache-dir -r requirements/lock.txt" in dockerfile
    assert "--no-deps ." in dockerfile  # nothing resolved past the lock
    assert "urllib.request" in _docker_healthcheck() and "/health" in _docker_healthcheck()
    lock = (ROOT / "requirements" / "lock.txt").read_text()
    for extra_package in ("boto3==", "redis==", "saq==", "openai==", "anthropic=="):
        assert extra_package in lock
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for no_http in ("worker", "scanner", "migrate"):  # same image, no /health to answer
        assert services[no_http]["healthcheck"] == {"disable": True}


def test_scripts_install_from_the_locks_once() -> None:
    serve = (ROOT / "scripts" / "serve").read_text()
    test = (ROOT / "scripts" / "test").read_text()
    # the embedded default and the local embedding model only
    assert '-c requirements/lock.txt -e ".[local-embeddings]"' in serve and "[all]" not in serve
    assert '-c requirements/test-lock.txt -e ".[test,all]"' in test
    assert "./scripts/test-lowest" in (ROOT / ".ci" / "run").read_text()
    lowest = (ROOT / "requirements" / "lowest.txt").read_text()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    floors = {
        req.split(">=")[0].split("[")[0].strip(): req.split(">=")[1].split(",")[0].strip()
        for req in [
            *project["dependencies"],
            *project["optional-dependencies"]["s3"],
            *project["optional-dependencies"]["redis"],
            *project["optional-dependencies"]["openai"],
            *project["optional-dependencies"]["anthropic"],
        ]
    }
    for name in ("openai", "anthropic", "litestar", "sqlalchemy", "saq", "limits"):
        pinned = next(line for line in lowest.splitlines() if line.lower().startswith(f"{name}=="))
        assert pinned.split("==")[1].split()[0].startswith(floors[name]), (name, pinned)


def test_install_runs_only_when_the_project_or_its_lock_changed(tmp_path: Path) -> None:
    """scripts/_install.sh: pip runs the first time (with progress), then only after a change (quietly)."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    calls = tmp_path / "calls"
    fake_python = venv / "bin" / "python"
    fake_python.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n')
    fake_python.chmod(0o755)
    lock = tmp_path / "lock.txt"
    lock.write_text("a==1\n")

    def install() -> list[str]:
        before = calls.read_text().splitlines() if calls.exists() else []
        script = f". {ROOT}/scripts/_install.sh; install_once {venv} thing {lock} -- -c {lock} -e ."
        result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return calls.read_text().splitlines()[len(before) :] if calls.exists() else []

    first = install()
    assert first == ["-m pip install --upgrade pip", f"-m pip install -c {lock} -e ."]  # progress shown
    assert install() == []  # nothing changed: no pip at all
    lock.write_text("a==2\n")
    assert install() == ["-m pip install --quiet --upgrade pip", f"-m pip install --quiet -c {lock} -e ."]
    assert install() == []
