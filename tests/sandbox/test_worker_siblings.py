"""The worker's sibling modules: loaded by path, once each, never importing the package, never reachable.

``automatos/sandbox/worker.py`` runs as ``python -I worker.py`` and loads the modules named in
:data:`~automatos.sandbox.worker.SIBLINGS` from its own directory under private names
(``automatos_sandbox_<name>``). Their state (the code cache, the snippets' classes, the views) must
exist once, and sandbox code must not reach them by importing those names.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from automatos.sandbox import PluginJob, WorkerPool
from automatos.sandbox.process import WORKER_PATH
from automatos.sandbox.worker import PRIVATE_PREFIX, SIBLINGS

HERE = Path(WORKER_PATH).parent
PRIVATE = [PRIVATE_PREFIX + name for name in SIBLINGS]

_LOADED = """
import importlib.util, json, os, sys
spec = importlib.util.spec_from_file_location("sandbox_worker", sys.argv[1])
worker = sys.modules["sandbox_worker"] = importlib.util.module_from_spec(spec)  # as __main__ would be
spec.loader.exec_module(worker)
here = os.path.dirname(os.path.abspath(sys.argv[1]))
files = [os.path.abspath(m.__file__) for m in list(sys.modules.values())
         if isinstance(getattr(m, "__file__", None), str)]
ours = sorted(f for f in files if os.path.dirname(f) == here)
shared = {}
for name in worker.SIBLINGS:
    module = sys.modules[worker.PRIVATE_PREFIX + name]
    shared[name] = [module is worker.sibling(name), module.__file__ == os.path.join(here, name + ".py")]
print(json.dumps({"ours": ours, "shared": shared,
                  "package": sorted(m for m in sys.modules if m == "automatos" or m.startswith("automatos."))}))
"""


def test_each_sibling_is_loaded_once_by_path_and_the_package_never() -> None:
    done = subprocess.run(
        [sys.executable, "-I", "-c", _LOADED, WORKER_PATH], capture_output=True, text=True, timeout=60, check=True
    )
    out = json.loads(done.stdout)
    expected = sorted(str(HERE / f"{name}.py") for name in ("worker", *SIBLINGS))
    assert out["ours"] == expected  # one module object per file: no sibling under two names
    assert out["shared"] == {name: [True, True] for name in SIBLINGS}
    assert out["package"] == []


def test_the_siblings_import_only_each_other_and_the_standard_library() -> None:
    """At run time a sibling imports other siblings by their private names; ``automatos`` only for mypy."""
    for name in ("worker", *SIBLINGS):
        tree = ast.parse((HERE / f"{name}.py").read_text())
        checking = [n for n in ast.walk(tree) if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"]
        typing_only = {id(n) for block in checking for stmt in block.body for n in ast.walk(stmt)}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom | ast.Import) and id(node) not in typing_only:
                modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                for module in modules:
                    assert not module.startswith("automatos."), f"{name}.py:{node.lineno} imports {module}"
                    if module.startswith(PRIVATE_PREFIX):
                        assert module.removeprefix(PRIVATE_PREFIX) in SIBLINGS, f"{name}.py imports {module}"


def test_a_sibling_of_another_directory_is_refused(tmp_path: Path) -> None:
    for name in ("worker", *SIBLINGS):
        shutil.copy(HERE / f"{name}.py", tmp_path / f"{name}.py")
    script = (
        "import importlib.util, sys\n"
        "def load(path, name):\n"
        "    spec = importlib.util.spec_from_file_location(name, path)\n"
        "    module = importlib.util.module_from_spec(spec)\n"
        "    spec.loader.exec_module(module)\n"
        "load(sys.argv[1], 'first')\n"
        "try:\n"
        "    load(sys.argv[2], 'second')\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", script, WORKER_PATH, str(tmp_path / "worker.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert f"{PRIVATE[0]} is loaded from {HERE / (SIBLINGS[0] + '.py')}, not {tmp_path}" in done.stdout


@pytest.mark.parametrize("module", PRIVATE)
async def test_snippets_cannot_import_the_siblings(pool: WorkerPool, module: str) -> None:
    for code in (f"import {module}", f"from {module} import sibling", f"import {module}.x"):
        result = await pool.run(code)
        assert not result.ok and result.error is not None and result.error.kind == "policy", (code, result)
        assert result.error.message.startswith(f"import of '{module}"), result.error.message


@pytest.mark.parametrize("module", PRIVATE)
async def test_plugin_bundles_cannot_import_the_siblings(pool: WorkerPool, module: str) -> None:
    for line in (f"import {module}", f"from {module} import sibling"):
        source = f"{line}\ndef register(ctx):\n    pass\n"
        plugin = PluginJob(bundle="0" * 64, modules={"p": source}, entry="p", action="register", plugin={})
        result = await pool.run("", plugin=plugin)
        assert not result.ok and result.error is not None and result.error.kind == "policy", (line, result)
        assert result.error.message.startswith(f"import of '{module}' is not allowed"), result.error.message
