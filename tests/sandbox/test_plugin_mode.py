"""Plugin runs: a bundle's modules loaded under the sandbox policy, ``register(ctx)`` and one handler call.

Against a real :class:`WorkerPool` (the module's two warm workers, ``conftest.py``) and, once, through
queue mode (:class:`QueueSandbox` and an in-test ``automatos worker``).
"""

from __future__ import annotations

import hashlib
import logging
from types import SimpleNamespace
from typing import Any, cast

import pytest

from automatos.extensions.cache.memory import MemoryKV
from automatos.kernel.errors import ValidationError
from automatos.kernel.settings import load_settings
from automatos.sandbox import Limits, LocalSandbox, PluginJob, SandboxResult, WorkerPool
from automatos.sandbox.limits import RunLimits
from automatos.sandbox.service import SandboxService, SandboxUnavailableError
from tests.sandbox.test_queue import _settings, caller, serving

BUNDLE: dict[str, str] = {
    "weather": ('"""The package: its __init__ runs first."""\nfrom .util import shout\nINIT_RAN = True\n'),
    "weather.util": (
        "import json\n"
        "import math\n"
        "def shout(text):\n"
        "    return text.upper() + '!'\n"
        "def dumps(value):\n"
        "    return json.dumps(value, sort_keys=True)\n"
        "ROOT2 = round(math.sqrt(2), 3)\n"
    ),
    "weather.tools": (
        "import weather.util\n"
        "import weather.util as u\n"
        "from weather import util as again\n"
        "from . import util\n"
        "from .util import shout, ROOT2\n"
        "from weather import INIT_RAN\n"
        "from .deep.inner import depth\n"
        "CALLS = [0]\n"
        "\n"
        "def forecast(ctx, city, days=3, *, units='metric'):\n"
        '    """Forecast for a city.\n'
        "\n"
        "    The second paragraph is not part of the description.\n"
        '    """\n'
        "    CALLS[0] += 1\n"
        "    return {'city': shout(city), 'days': days, 'units': units, 'calls': CALLS[0],\n"
        "            'same': weather.util is u and u is again and again is util,\n"
        "            'root2': ROOT2, 'init': INIT_RAN, 'depth': depth(), 'json': util.dumps({'b': 1, 'a': 2})}\n"
        "\n"
        "def noop(ctx):\n"
        "    return None\n"
        "\n"
        "def context(ctx):\n"
        "    return {'env': dict(ctx.env), 'plugin': dict(ctx.plugin), 'workspace': ctx.workspace_id,\n"
        "            'http': hasattr(ctx, 'http'), 'kv': hasattr(ctx, 'kv')}\n"
        "\n"
        "def fetch(ctx, url):\n"
        "    ctx.log.info('fetching ' + url)\n"
        "    ctx.kv.set('last', url)\n"
        "    return {'get': ctx.http.get(url), 'last': ctx.kv.get('last')}\n"
        "\n"
        "def boom(ctx, message):\n"
        "    raise ValueError(message)\n"
        "\n"
        "def spin(ctx):\n"
        "    while True:\n"
        "        pass\n"
        "\n"
        "def chatty(ctx):\n"
        "    for i in range(100000):\n"
        "        print('line', i)\n"
        "\n"
        "def hog(ctx):\n"
        "    return len(bytearray(512 * 1024 * 1024))\n"
    ),
    "weather.deep.inner": (  # weather.deep has no __init__: a namespace package
        "from ..util import shout\nfrom .. import util\ndef depth():\n    return shout('deep') + util.shout('er')\n"
    ),
    "weather.main": (
        "from weather.tools import forecast, noop, context, fetch, boom\n"
        "def register(ctx):\n"
        "    ctx.log.info('registering ' + ctx.plugin['slug'])\n"
        "    ctx.add_tool(forecast)\n"
        "    ctx.add_tool(noop, name='nothing', description='Does nothing.')\n"
        "    ctx.add_tool(boom, parameters={'type': 'object', 'properties': {'message': {'type': 'string'}},\n"
        "                                   'required': ['message']})\n"
        "    ctx.add_skill('skills/forecast.md')\n"
        "    ctx.add_prompt('prompts/forecast.md')\n"
        "    ctx.add_routing_rule({'match': ['weather', 'rain'], 'tool': 'forecast'})\n"
    ),
}
ABOUT = {"slug": "weather-tools", "version": "1.2.0"}
SMALL = Limits(cpu_seconds=0.5, wall_seconds=300, memory_mb=64, output_bytes=10_000)
"""The wall limit is far above what 0.5 s of CPU needs: CPU hits never race it."""


def job(modules: dict[str, str] | None = None, **fields: Any) -> PluginJob:
    modules = modules or BUNDLE
    digest = hashlib.sha256(repr(sorted(modules.items())).encode()).hexdigest()
    fields.setdefault("entry", "weather.main" if "weather.main" in modules else next(iter(modules)))
    fields.setdefault("action", "call" if "handler" in fields else "register")
    return PluginJob(bundle=digest, modules=modules, plugin=ABOUT, **fields)


def call(handler: str, modules: dict[str, str] | None = None, **fields: Any) -> PluginJob:
    return job(modules, handler=handler, **fields)


def failed(result: SandboxResult, kind: str) -> str:
    assert not result.ok and result.error is not None, result
    assert result.error.kind == kind, result.error
    return result.error.message


class FakeHttp:
    name = "http"
    methods = frozenset({"get"})

    def __init__(self) -> None:
        self.urls: list[str] = []

    async def call(self, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        self.urls.append(args[0])
        return {"status": 200, "text": "sunny", "url": args[0]}


class FakeKV:
    name = "kv"
    methods = frozenset({"get", "set", "delete"})

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    async def call(self, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if method == "set":
            self.data[args[0]] = args[1]
            return None
        if method == "get":
            return self.data.get(args[0])
        return self.data.pop(args[0], None) is not None


# --- register -----------------------------------------------------------------------------------


async def test_register_returns_the_declarations(pool: WorkerPool) -> None:
    result = await pool.run("", plugin=job())
    assert result.ok, result.error
    declared = result.result
    assert [tool["name"] for tool in declared["tools"]] == ["forecast", "nothing", "boom"]
    forecast, nothing, boom = declared["tools"]
    assert forecast == {
        "name": "forecast",
        "description": "Forecast for a city.",  # the docstring's first paragraph
        "parameters": {
            "type": "object",
            "properties": {"city": {}, "days": {}, "units": {}},
            "required": ["city"],
            "additionalProperties": False,
        },
        "handler": "weather.tools:forecast",
    }
    assert nothing["description"] == "Does nothing." and nothing["handler"] == "weather.tools:noop"
    assert nothing["parameters"] == {"type": "object", "properties": {}, "additionalProperties": False}
    assert boom["parameters"]["properties"] == {"message": {"type": "string"}} and boom["description"] == ""
    assert declared["skills"] == ["skills/forecast.md"] and declared["prompts"] == ["prompts/forecast.md"]
    assert declared["routing_rules"] == [{"match": ["weather", "rain"], "tool": "forecast"}]
    assert result.logs == [{"level": "info", "message": "registering weather-tools"}]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("ctx.add_tool(f)\n    ctx.add_tool(f)", "a tool named 'f' is declared already"),
        ("ctx.add_tool(f, name='Bad-Name')", "must match ^[a-z][a-z0-9_]{0,47}$"),
        ("ctx.add_tool(f, name='x' * 49)", "must match"),
        ("ctx.add_tool(42)", "expected a function of the plugin's modules, not int"),
        ("ctx.add_tool(json.dumps)", "expected a function of the plugin's modules, not function"),
        ("ctx.add_tool(lambda ctx: 1, name='anon')", "at the top level of a plugin module"),
        ("def inner(ctx):\n        return 1\n    ctx.add_tool(inner)", "at the top level of a plugin module"),
        ("ctx.add_tool(K.method, name='m')", "at the top level of a plugin module"),
        ("ctx.add_tool(g)", "cannot take *args"),
        ("ctx.add_tool(h)", "takes ctx as its first parameter"),
        ("ctx.add_tool(f, parameters={'type': 'array'})", "JSON Schema of an object"),
        ("ctx.add_tool(f, parameters={'type': 'object', 'x': float('nan')})", "must be JSON data"),
        ("ctx.add_tool(f, parameters={'type': 'object', 'd': 'x' * 70000})", "larger than 65536 bytes"),
        ("ctx.add_tool(f, description=3)", "description must be a string"),
        ("ctx.add_skill('../secrets')", "not a relative path in the bundle"),
        ("ctx.add_prompt('/etc/passwd')", "not a relative path in the bundle"),
        ("ctx.add_skill('a.md')\n    ctx.add_skill('a.md')", "'a.md' is declared already"),
        ("ctx.add_routing_rule(['x'])", "a rule is a dict, not list"),
        ("for i in range(201):\n        ctx.add_skill(f's/{i}.md')", "at most 200"),
    ],
)
async def test_bad_declarations_are_clear_errors(pool: WorkerPool, body: str, needle: str) -> None:
    source = (
        "import json\n"
        "def f(ctx):\n    return 1\n"
        "def g(ctx, *args):\n    return 1\n"
        "def h():\n    return 1\n"
        "class K:\n    def method(self, ctx):\n        return 1\n"
        f"def register(ctx):\n    {body}\n"
    )
    message = failed(await pool.run("", plugin=job({"p": source}, entry="p")), "runtime")
    assert message.startswith("ValueError: ") and needle in message, message


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("class X(type(ctx)):\n        pass", "ctx's class cannot be derived from"),
        ("type(ctx).add_skill(Holder(), 'a.md')", "ctx's methods apply to ctx only"),
        ("ctx.tools = []", "objects of type RegisterContext cannot be modified"),
        ("return ctx.env", "ctx has no attribute 'env' in register(ctx)"),
    ],
)
async def test_the_register_context_is_closed(pool: WorkerPool, body: str, needle: str) -> None:
    source = f"class Holder:\n    pass\ndef register(ctx):\n    {body}\n"
    result = await pool.run("", plugin=job({"p": source}, entry="p"))
    assert result.error is not None and needle in result.error.message, result.error


async def test_a_tool_limit(pool: WorkerPool) -> None:
    source = (
        "def f(ctx):\n    return 1\n"
        "def register(ctx):\n    for i in range(101):\n        ctx.add_tool(f, name=f't{i}')\n"
    )
    message = failed(await pool.run("", plugin=job({"p": source}, entry="p")), "runtime")
    assert "at most 100 tools" in message


async def test_register_raising_or_missing_is_a_runtime_error(pool: WorkerPool) -> None:
    raising = {"p": "def register(ctx):\n    raise RuntimeError('no config')\n"}
    result = await pool.run("", plugin=job(raising, entry="p"))
    assert failed(result, "runtime") == "RuntimeError: no config (in module p)"
    assert result.error is not None and result.error.line == 2
    missing = await pool.run("", plugin=job({"p": "x = 1\n"}, entry="p"))
    assert failed(missing, "runtime") == "LookupError: the entry module 'p' defines no register(ctx) function"


# --- call ---------------------------------------------------------------------------------------


async def test_a_call_runs_the_handler_with_its_arguments(pool: WorkerPool) -> None:
    result = await pool.run("", plugin=call("weather.tools:forecast", arguments={"city": "oslo", "days": 5}))
    assert result.ok, result.error
    assert result.result == {
        "city": "OSLO!",
        "days": 5,
        "units": "metric",
        "calls": 1,
        "same": True,  # one module, however it is imported
        "root2": 1.414,
        "init": True,  # the package's __init__ ran
        "depth": "DEEP!ER!",  # a namespace package, relative imports two levels up
        "json": '{"a": 2, "b": 1}',
    }


async def test_module_state_does_not_persist_between_calls(pool: WorkerPool) -> None:
    counts = []
    for _ in range(4):  # two workers: each serves at least one run twice over
        result = await pool.run("", plugin=call("weather.tools:forecast", arguments={"city": "x"}))
        assert result.ok, result.error
        counts.append(result.result["calls"])
    assert counts == [1, 1, 1, 1]


async def test_the_call_context(pool: WorkerPool) -> None:
    plugin = call("weather.tools:context", env={"WEATHER_API_KEY": "k-123"})
    result = await pool.run("", plugin=plugin, workspace="ws-1")
    assert result.ok, result.error
    assert result.result == {
        "env": {"WEATHER_API_KEY": "k-123"},
        "plugin": ABOUT,
        "workspace": "ws-1",
        "http": False,  # not granted: absent
        "kv": False,
    }


async def test_granted_capabilities_are_reachable_through_ctx(pool: WorkerPool) -> None:
    http, kv = FakeHttp(), FakeKV()
    plugin = call("weather.tools:fetch", arguments={"url": "https://api.weather.invalid/oslo"})
    result = await pool.run("", plugin=plugin, capabilities=[http, kv])
    assert result.ok, result.error
    assert result.result == {
        "get": {"status": 200, "text": "sunny", "url": "https://api.weather.invalid/oslo"},
        "last": "https://api.weather.invalid/oslo",
    }
    assert http.urls == ["https://api.weather.invalid/oslo"] and kv.data == {"last": "https://api.weather.invalid/oslo"}
    assert result.logs == [{"level": "info", "message": "fetching https://api.weather.invalid/oslo"}]
    refused = await pool.run("", plugin=plugin)  # the same call, nothing granted
    message = failed(refused, "runtime")
    assert message.startswith("AttributeError: ctx.kv: this plugin was not granted 'kv'"), message


@pytest.mark.parametrize(
    ("body", "kind", "needle"),
    [
        ("ctx.env['X'] = '1'", "policy", "cannot be modified"),
        ("ctx.workspace_id = 'other'", "policy", "objects of type CallContext cannot be modified"),
        ("getattr(ctx, '_caps')", "policy", "starts with '_'"),
        ("return http", "runtime", "NameError: name 'http' is not defined"),  # no capability globals
    ],
)
async def test_ctx_and_module_globals_hold_nothing_more(pool: WorkerPool, body: str, kind: str, needle: str) -> None:
    source = f"def run(ctx):\n    {body}\n"
    result = await pool.run("", plugin=call("p:run", {"p": source}, entry="p"), capabilities=[FakeHttp()])
    assert needle in failed(result, kind)


async def test_a_handler_raising_is_a_runtime_error(pool: WorkerPool) -> None:
    result = await pool.run("", plugin=call("weather.tools:boom", arguments={"message": "no sky"}))
    assert failed(result, "runtime") == "ValueError: no sky (in module weather.tools)"


async def test_missing_handlers_are_clear_errors(pool: WorkerPool) -> None:
    missing = await pool.run("", plugin=call("weather.tools:nowhere"))
    assert failed(missing, "runtime") == (
        "LookupError: handler 'weather.tools:nowhere': module 'weather.tools' has no function 'nowhere'"
    )
    not_a_function = await pool.run("", plugin=call("weather.tools:CALLS"))
    assert "has no function 'CALLS'" in failed(not_a_function, "runtime")
    imported = await pool.run("", plugin=call("weather.util:json"))  # a module view is no handler
    assert "has no function 'json'" in failed(imported, "runtime")
    bad_arguments = await pool.run("", plugin=call("weather.tools:forecast", arguments={"town": "x"}))
    assert "unexpected keyword argument 'town'" in failed(bad_arguments, "runtime")


# --- imports and the policy ---------------------------------------------------------------------


@pytest.mark.parametrize("module", ["os", "socket", "httpx", "importlib", "weather_other"])
async def test_imports_outside_the_bundle_follow_the_allow_list(pool: WorkerPool, module: str) -> None:
    source = f"import {module}\ndef run(ctx):\n    return 1\n"
    message = failed(await pool.run("", plugin=call("p:run", {"p": source}, entry="p")), "policy")
    assert message.startswith(f"import of '{module}' is not allowed (allowed: "), message


async def test_a_missing_bundle_module_is_an_import_error(pool: WorkerPool) -> None:
    modules = {
        "p": "",
        "p.a": "import p.nothere\n",
        "p.b": "from . import nothere\n",
        "p.c": "from .nothere import x\n",
    }
    expected = {
        "p.a": "ModuleNotFoundError: No module named 'p.nothere' in the plugin's bundle (in module p.a)",
        "p.b": "ImportError: cannot import name 'nothere' from 'p' (in module p.b)",
        "p.c": "ModuleNotFoundError: No module named 'p.nothere' in the plugin's bundle (in module p.c)",
    }
    for importer, message in expected.items():
        source = {**modules, "q": f"import {importer}\ndef run(ctx):\n    return 1\n"}
        assert failed(await pool.run("", plugin=call("q:run", source, entry="p")), "runtime") == message


@pytest.mark.parametrize(
    ("source", "kind", "needle"),
    [
        ("def run(ctx):\n    return ctx.__class__\n", "policy", '"__class__" is an invalid attribute name'),
        ("import p.util\ndef run(ctx):\n    return getattr(p.util, '_getattr_')\n", "policy", "starts with '_'"),
        ("import p.util as u\ndef run(ctx):\n    return getattr(u, '_space')\n", "policy", "starts with '_'"),
        ("from p.util import VALUE\ndef run(ctx):\n    return type(VALUE).mro()\n", "policy", "'mro'"),
        ("import p.util as u\ndef run(ctx):\n    u.VALUE = 2\n", "policy", "cannot be modified"),
        ("import p.util as u\ndef run(ctx):\n    return u.nothing\n", "runtime", "has no attribute 'nothing'"),
        ("def run(ctx):\n    return open('/etc/passwd').read()\n", "policy", "open is not available"),
        ("from . import x\ndef run(ctx):\n    return 1\n", "runtime", "beyond the top-level package"),
    ],
)
async def test_the_policy_applies_to_bundle_modules(pool: WorkerPool, source: str, kind: str, needle: str) -> None:
    modules = {"p": "", "p.util": "VALUE = 1\n", "q": source}
    message = failed(await pool.run("", plugin=call("q:run", modules, entry="p")), kind)
    assert needle in message, message


async def test_a_compile_error_names_its_module(pool: WorkerPool) -> None:
    modules = {"p": "import p.broken\ndef run(ctx):\n    return 1\n", "p.broken": "def f(:\n"}
    result = await pool.run("", plugin=call("p:run", modules, entry="p"))
    assert failed(result, "syntax").startswith("module p.broken: SyntaxError")
    assert result.error is not None and result.error.line == 1 and result.error.stage is None


async def test_circular_imports_see_a_partially_initialised_module(pool: WorkerPool) -> None:
    modules = {
        "a": "import b\nEARLY = 1\ndef run(ctx):\n    return b.seen()\nLATE = 2\n",
        "b": "import a\ndef seen():\n    return [a.EARLY, a.LATE]\n",
    }
    result = await pool.run("", plugin=call("a:run", modules, entry="a"))
    assert result.ok and result.result == [1, 2], result.error  # b used a only after a finished
    eager = {"a": "from b import f\nVALUE = 1\ndef run(ctx):\n    return f()\n", "b": "from a import VALUE\n"}
    message = failed(await pool.run("", plugin=call("a:run", eager, entry="a")), "runtime")
    assert message.startswith("ImportError: cannot import name 'VALUE' from 'a' (it is partially initialised"), message


async def test_a_snippet_after_a_plugin_run_sees_nothing_of_it(pool: WorkerPool) -> None:
    for _ in range(2):
        assert (await pool.run("", plugin=call("weather.tools:noop"))).ok
        snippet = await pool.run("import weather")
        assert failed(snippet, "policy").startswith("import of 'weather' is not allowed")
        relative = await pool.run("from . import util")
        assert "relative imports are not allowed" in failed(relative, "policy")


# --- limits -------------------------------------------------------------------------------------


async def test_limits_apply_as_for_snippets(pool: WorkerPool) -> None:
    spin = await pool.run("", None, SMALL, plugin=call("weather.tools:spin"))
    assert spin.error is not None and (spin.error.kind, spin.error.limit, spin.error.value) == (
        "limit",
        "cpu_seconds",
        0.5,
    )
    chatty = await pool.run("", None, SMALL, plugin=call("weather.tools:chatty"))
    assert chatty.error is not None and (chatty.error.limit, chatty.error.value) == ("output_bytes", 10_000)
    assert chatty.stdout.startswith("line 0\nline 1\n")
    hog = await pool.run("", None, SMALL, plugin=call("weather.tools:hog"))
    assert hog.error is not None and (hog.error.limit, hog.error.value) == ("memory_mb", 64)
    deep = {"p": "def f(n):\n    return f(n + 1)\ndef run(ctx):\n    return f(0)\n"}
    recursion = await pool.run("", None, SMALL, plugin=call("p:run", deep, entry="p"))
    assert recursion.error is not None and recursion.error.limit == "recursion_depth"
    big = {"p": "def run(ctx):\n    return 'x' * 2000\n"}
    result = await pool.run("", None, Limits(result_bytes=1000), plugin=call("p:run", big, entry="p"))
    assert result.error is not None and (result.error.limit, result.error.value) == ("result_bytes", 1000)
    not_json = {"p": "def run(ctx):\n    return {1, 2}\n"}
    assert "result must be JSON" in failed(await pool.run("", plugin=call("p:run", not_json, entry="p")), "result")
    after = await pool.run("", plugin=call("weather.tools:forecast", arguments={"city": "bergen"}))
    assert after.ok and after.result["city"] == "BERGEN!"


def test_plugin_jobs_are_checked() -> None:
    with pytest.raises(ValueError, match="entry: module 'nope' is not in the bundle"):
        job(entry="nope")
    with pytest.raises(ValueError, match="a call names its handler"):
        job(action="call")
    with pytest.raises(ValueError, match="handler: module 'x' is not in the bundle"):
        call("x:run")


# --- queue mode ---------------------------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning")
async def test_a_plugin_call_through_the_queue(redis_url: str) -> None:
    settings = _settings(redis_url, pool_size=1)
    async with serving(settings, kv=MemoryKV()), caller(settings) as sandbox:
        plugin = call("weather.tools:context", env={"K": "v"})
        result = await sandbox.run("", plugin=plugin, workspace="ws-queue")
        assert result.ok, result.error
        assert result.result["env"] == {"K": "v"} and result.result["workspace"] == "ws-queue"
        declared = await sandbox.run("", plugin=job())
        assert declared.ok and [t["name"] for t in declared.result["tools"]] == ["forecast", "nothing", "boom"]
        failing = await sandbox.run("", plugin=call("weather.tools:boom", arguments={"message": "queued"}))
        assert failed(failing, "runtime") == "ValueError: queued (in module weather.tools)"


# --- the service ----------------------------------------------------------------------------------


class _Platform:
    """The platform settings that bound a run: 2 s of time, 128 MiB, 5,000 bytes of output."""

    values = {"sandbox.timeout_seconds": 2, "sandbox.memory_mb": 128, "sandbox.max_output_bytes": 5000}

    async def int_setting(self, key: str, default: int, low: int, high: int) -> int:
        return self.values[key]


class _Broken:
    async def run(self, *args: Any, **kwargs: Any) -> SandboxResult:
        raise OSError("the pool is gone")


def _service(sandbox: Any) -> SandboxService:
    kernel = SimpleNamespace(current_settings=load_settings({}, feature_sandbox=True))
    service = SandboxService(cast(Any, kernel), _Platform(), cast(Any, None))
    service.sandbox = sandbox
    return service


async def test_the_service_runs_plugins_within_the_platforms_limits(
    pool: WorkerPool, caplog: pytest.LogCaptureFixture
) -> None:
    service = _service(LocalSandbox(pool))
    held = await service.bounded(Limits(cpu_seconds=30, wall_seconds=60, memory_mb=1024, result_bytes=10))
    assert (held.cpu_seconds, held.wall_seconds, held.memory_mb, held.output_bytes, held.result_bytes) == (
        2,
        2,
        128,
        5000,
        10,
    )
    with pytest.raises(ValidationError, match=r"limits\.memory_mb"):
        await service.run_plugin(call("weather.tools:noop"), workspace_id="ws", limits=RunLimits(memory_mb=512))
    plugin = call("weather.tools:context", env={"WEATHER_API_KEY": "secret-value"}, arguments={})
    with caplog.at_level(logging.INFO, logger="automatos.sandbox.api"):
        result = await service.run_plugin(plugin, workspace_id="ws-9", limits=None, capabilities=[FakeKV()])
    assert result.ok and result.result["workspace"] == "ws-9" and result.result["kv"] is True
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("plugin run")]
    assert "slug=weather-tools version=1.2.0 action=call handler=weather.tools:context ok=True" in line
    assert "secret-value" not in line
    with pytest.raises(SandboxUnavailableError, match="could not run the plugin"):
        await _service(_Broken()).run_plugin(plugin, workspace_id="ws-9")


async def test_the_service_checks_the_bounds_of_a_job_built_in_code(pool: WorkerPool) -> None:
    service = _service(LocalSandbox(pool))
    odd = PluginJob(bundle="0" * 64, modules={"p": "", "p.__init__": ""}, entry="p", action="register")
    result = await service.run_plugin(odd, workspace_id="ws")
    assert failed(result, "policy").startswith("plugin job: Expected `str` matching regex")
