"""``automatos sandbox run`` and ``automatos worker``, run as the installed command."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from automatos.extensions.cache.redis import RedisQueueServer
from automatos.sandbox import Limits
from automatos.sandbox.queue import QueueSandbox

AUTOMATOS = str(Path(sys.executable).parent / "automatos")

pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "REDIS_", "S3_", "AUTOMATOS_", "SANDBOX_", "LOG_"))
    }
    return {**env, "AUTOMATOS_DATA_DIR": str(tmp_path / "data"), **extra}


def cli(tmp_path: Path, *args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AUTOMATOS, *args],
        cwd=tmp_path,
        env=_env(tmp_path, **env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def snippet(tmp_path: Path, code: str) -> str:
    path = tmp_path / f"snippet-{uuid.uuid4().hex[:6]}.py"
    path.write_text(code, encoding="utf-8")
    return str(path)


def one_object(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.stdout.endswith("\n") and done.stdout.count("\n") == 1, done.stdout[:2000]
    data: dict[str, Any] = json.loads(done.stdout)
    assert set(data) == {"ok", "result", "error", "error_detail", "stdout", "logs", "usage"}
    return data


def test_json_is_one_object_however_much_the_snippet_prints(tmp_path: Path) -> None:
    code = (
        "for i in range(1000):\n"
        "    print('{\"ok\": true, \"result\": ' + str(i) + '}')\n"
        "    print('}\\n{', '[1, 2', '\"')\n"
        "result = {'sum': inputs['a'] + inputs['b'], 'text': 'line\\nbreak \"quoted\"'}\n"
    )
    done = cli(tmp_path, "sandbox", "run", snippet(tmp_path, code), "--json", "--input", '{"a": 40, "b": 2}')
    assert done.returncode == 0, done.stderr
    data = one_object(done)
    assert data["ok"] is True and data["error"] is None and data["error_detail"] is None
    assert data["result"] == {"sum": 42, "text": 'line\nbreak "quoted"'}
    assert data["stdout"].startswith('{"ok": true, "result": 0}\n}\n{ [1, 2 "\n')
    assert set(data["usage"]) >= {"cpu_ms", "wall_ms", "total_ms"}
    # past the output limit (64 KiB): still one object, the limit named, exit status 1
    flood = cli(tmp_path, "sandbox", "run", snippet(tmp_path, code.replace("1000", "100000")), "--json")
    assert flood.returncode == 1, flood.stderr
    data = one_object(flood)
    assert data["ok"] is False and data["error_detail"]["limit"] == "output_bytes"
    assert data["stdout"].startswith('{"ok": true, "result": 0}\n')


def test_json_when_the_snippet_raises_system_exit(tmp_path: Path) -> None:
    code = "print('{\"ok\": true}')\nraise SystemExit(0)\n"
    done = cli(tmp_path, "sandbox", "run", snippet(tmp_path, code), "--json")
    assert done.returncode == 1, done.stderr
    data = one_object(done)
    assert data["ok"] is False and data["result"] is None and "SystemExit" in data["error"]
    assert data["error_detail"]["kind"] == "runtime" and data["error_detail"]["line"] == 2
    assert data["stdout"] == '{"ok": true}\n'


def test_stdin_and_plain_output(tmp_path: Path) -> None:
    done = cli(tmp_path, "sandbox", "run", "-", stdin="print('hello')\nresult = [1, 'two']\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == 'hello\n[1, "two"]\n'
    failed = cli(tmp_path, "sandbox", "run", "-", stdin="print('before')\nresult = 1 / 0\n")
    assert failed.returncode == 1
    assert failed.stdout == "before\n" and "ZeroDivisionError" in failed.stderr and "line 2" in failed.stderr


def test_exit_statuses(tmp_path: Path) -> None:
    ok = snippet(tmp_path, "result = 1")
    assert cli(tmp_path, "sandbox", "run", ok, "--json").returncode == 0
    syntax = cli(tmp_path, "sandbox", "run", snippet(tmp_path, "def (:"), "--json")
    assert syntax.returncode == 1 and one_object(syntax)["error_detail"]["kind"] == "syntax"
    refused = cli(tmp_path, "sandbox", "run", snippet(tmp_path, "import os"), "--json")
    assert refused.returncode == 1 and one_object(refused)["ok"] is False
    usage_errors = {
        "FILE": ["sandbox", "run", str(tmp_path / "missing.py"), "--json"],
        "--input": ["sandbox", "run", ok, "--json", "--input", "{not json"],
        "--timeout": ["sandbox", "run", ok, "--json", "--timeout", "0"],
        "--memory": ["sandbox", "run", ok, "--json", "--memory", "1"],
        "--cpu": ["sandbox", "run", ok, "--json", "--cpu", "1000"],
    }
    for option, args in usage_errors.items():
        done = cli(tmp_path, *args)
        assert done.returncode == 2, (option, done.stderr)
        assert done.stdout == "" and option in done.stderr, (option, done.stderr)
    not_an_object = cli(tmp_path, "sandbox", "run", ok, "--input", "[1, 2]")
    assert not_an_object.returncode == 2 and "JSON object" in not_an_object.stderr


def test_timeout_stops_an_endless_loop(tmp_path: Path) -> None:
    done = cli(tmp_path, "sandbox", "run", snippet(tmp_path, "while True:\n    pass\n"), "--json", "--timeout", "1")
    assert done.returncode == 1, done.stderr
    data = one_object(done)
    assert data["ok"] is False and data["error_detail"]["kind"] == "limit"
    assert data["error_detail"]["limit"] in ("wall_seconds", "cpu_seconds")
    assert data["error_detail"]["limit"] in data["error"]


def test_worker_needs_redis(tmp_path: Path) -> None:
    done = cli(tmp_path, "worker")
    assert done.returncode == 2 and "REDIS_URL" in done.stderr and done.stdout == ""
    queued = cli(tmp_path, "worker", SANDBOX_MODE="queue")
    assert queued.returncode == 2 and "REDIS_URL" in queued.stderr


@pytest.mark.redis
async def test_worker_serves_the_queue_and_stops_on_sigterm(tmp_path: Path, redis_url: str) -> None:
    queue = f"test-cli-{uuid.uuid4().hex[:10]}"
    env = _env(tmp_path, REDIS_URL=redis_url, SANDBOX_QUEUE_NAME=queue, SANDBOX_POOL_SIZE="1", LOG_FORMAT="text")
    worker = await asyncio.create_subprocess_exec(
        AUTOMATOS, "worker", cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        # margin: the job waits for the worker to start
        async with QueueSandbox(RedisQueueServer(redis_url), queue, margin=30) as sandbox:
            result = await sandbox.run("print('served')\nresult = inputs['n'] + 1", {"n": 41}, Limits(wall_seconds=5))
            assert result.ok and result.result == 42 and result.stdout == "served\n", result.error
            # the CLI in queue mode goes through the same worker
            ran = await asyncio.to_thread(
                cli,
                tmp_path,
                "sandbox",
                "run",
                snippet(tmp_path, "result = 'via the queue'"),
                "--json",
                SANDBOX_MODE="queue",
                REDIS_URL=redis_url,
                SANDBOX_QUEUE_NAME=queue,
            )
            assert ran.returncode == 0, ran.stderr
            assert one_object(ran)["result"] == "via the queue"
        worker.send_signal(signal.SIGTERM)
        out, raw = await asyncio.wait_for(worker.communicate(), 30)
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
    err = raw.decode()
    assert worker.returncode == 0, err
    assert out == b""
    assert "serving queue" in err and "SIGTERM" in err and "sandbox worker stopped" in err
