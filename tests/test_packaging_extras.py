"""Optional extras: the embedded default starts without any heavy SDK, and says which extra to install."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from automatos.kernel.extras import EXTRAS, MissingExtraError, install_hint, reason_for, require

ROOT = Path(__file__).parents[1]
BLOCKED = ("boto3", "botocore", "redis", "saq", "openai", "anthropic")

# Runs in a fresh interpreter with the SDKs made unimportable (None in sys.modules makes every
# `import x` raise ModuleNotFoundError, as an install without the extras would).
PROBE = """
import json, sys
for name in {blocked!r}:
    sys.modules[name] = None
from litestar.testing import TestClient
from automatos.api.app import create_app
app = create_app()
with TestClient(app) as client:
    health = client.get("/health")
    kernel = app.state["kernel"]
    infos = {{name: [info.state.value, info.reason] for name, info in kernel.registry.extensions.items()}}
    leaked = sorted(m for m in {blocked!r} if sys.modules.get(m) is not None)
    print(json.dumps({{"health": health.status_code, "extensions": infos, "leaked": leaked}}))
"""


def _pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_embedded_default_starts_without_the_extras_and_names_them(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "S3_", "AUTOMATOS_"))}
    env.update(AUTOMATOS_DATA_DIR=str(tmp_path / "data"), LOG_LEVEL="ERROR")
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(blocked=BLOCKED)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["health"] == 200 and report["leaked"] == []
    extensions = report["extensions"]
    for name, extra in [
        ("automatos.storage.s3", "s3"),
        ("automatos.cache.redis", "redis"),
        ("automatos.llm.openai", "openai"),
        ("automatos.llm.anthropic", "anthropic"),
    ]:
        state, reason = extensions[name]
        assert state == "quarantined" and reason.startswith(install_hint(extra)), (name, reason)
    assert install_hint("s3") == "needs the 's3' extra: pip install 'automatos[s3]'"
    for name in ("automatos.storage.local", "automatos.cache.memory", "automatos.llm.offline"):
        assert extensions[name][0] == "loaded"


def test_the_extras_in_pyproject_match_the_table() -> None:
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    base = " ".join(project["dependencies"]).lower()
    extras: dict[str, list[str]] = project["optional-dependencies"]
    for package, extra in EXTRAS.items():
        if package == "botocore":  # comes with boto3
            continue
        assert package not in base, f"{package} must not be installed by plain 'pip install automatos'"
        assert any(req.lower().startswith(package) for req in extras[extra]), (package, extra)
        (everything,) = extras["all"]
        assert extra in everything.removeprefix("automatos[").removesuffix("]").split(","), extra
    assert "test" in extras and "bench" in extras
    for benchmark_only in ("fastapi", "slowapi"):
        assert not any(req.startswith(benchmark_only) for req in extras["test"])
        assert any(req.startswith(benchmark_only) for req in extras["bench"])


def test_no_test_imports_a_benchmark_only_package() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "tests").rglob("*.py")
        if any(
            f"import {name}" in line or f"from {name}" in line
            for name in ("fastapi", "slowapi")
            for line in path.read_text().splitlines()
        )
    ]
    assert offenders == []


def test_require_finds_without_importing_and_names_the_extra() -> None:
    require("json")
    with pytest.raises(MissingExtraError) as info:
        require("boto3_definitely_absent")
    assert info.value.name == "boto3_definitely_absent"
    saved = sys.modules.get("anthropic")
    sys.modules["anthropic"] = None  # type: ignore[assignment]
    try:
        with pytest.raises(MissingExtraError, match=r"pip install 'automatos\[anthropic\]'"):
            require("anthropic")
    finally:
        if saved is None:
            del sys.modules["anthropic"]
        else:
            sys.modules["anthropic"] = saved
    assert reason_for(ModuleNotFoundError("x", name="redis.asyncio")) == (
        "needs the 'redis' extra: pip install 'automatos[redis]' (no module 'redis.asyncio')"
    )
    assert reason_for(ModuleNotFoundError("x", name="somethingelse")) is None


def test_a_configured_backend_without_its_extra_says_which_to_install(tmp_path: Path) -> None:
    """REDIS_URL set but the redis extra missing: startup stops naming the extra, not a bare 'unknown backend'."""
    probe = (
        "import sys\n"
        "for name in ('redis', 'saq'):\n"
        "    sys.modules[name] = None\n"
        "from litestar.testing import TestClient\n"
        "from automatos.api.app import create_app\n"
        "with TestClient(create_app()):\n"
        "    pass\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "S3_", "AUTOMATOS_"))}
    env.update(AUTOMATOS_DATA_DIR=str(tmp_path / "data"), REDIS_URL="redis://127.0.0.1:1/0", LOG_LEVEL="ERROR")
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode != 0
    assert "KV_BACKEND='redis'" in result.stderr
    assert "automatos.cache.redis needs the 'redis' extra: pip install 'automatos[redis]'" in result.stderr
