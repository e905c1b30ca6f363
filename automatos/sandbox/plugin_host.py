"""Layer 6 of the sandbox worker: plugin runs — a bundle's modules, ``register(ctx)`` and handler calls.

Loaded by path by :mod:`automatos.sandbox.worker` (see its docstring, "Loading"), never imported
from the package; it imports only the standard library and its siblings ``policy.py``,
``guards.py``, ``views.py`` and ``channel.py``.

A job with ``"plugin"`` (a ``PluginJob`` as JSON) is one :class:`_PluginRun`: the bundle's modules
(``{dotted name: source}``) are compiled on first import by the same ``_compile`` as
``<plugin:name>`` (code objects cached by name and sha256), each executed once per run in globals
of its own built like a snippet's (``views._base_globals``, ``__name__`` the dotted name, no
``inputs``/``result``/capabilities) and handed to importers as a :class:`BundleModule` (a live view
of its public globals — never a module object, never ``__name__``, read-only from outside). The
worker makes the run the import hook's first stop for the run's duration (``views.set_bundle``):
absolute and relative imports of the bundle's modules, namespace packages, ``from pkg import
submodule``, circular imports seeing a partially initialised module; anything else takes the
allow-list as for snippets. Nothing survives the run (the worker clears :attr:`_PluginRun.spaces`
with the snippet's globals).

``register`` calls the entry module's ``register(ctx)`` with a :class:`RegisterContext`
(declarations, checked and copied as plain data); ``call`` resolves ``module:function`` and calls it
with a :class:`CallContext` (``http``/``kv`` when granted, ``log``, ``env``, ``plugin``,
``workspace_id``). Both ctx classes are trusted code answering through ``__getattr__`` only, cannot
be derived from, and cannot be modified. Errors name the module (:func:`_place`:
``(in module pkg.mod)``) and never carry ``stage="compile"``.
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from automatos.sandbox.channel import Logger, _not_json
    from automatos.sandbox.guards import Output, PolicyViolation, _message
    from automatos.sandbox.policy import PLUGIN_FILE, SNIPPET, CompileFailure, _compile
    from automatos.sandbox.views import _base_globals
else:
    from automatos_sandbox_channel import Logger, _not_json
    from automatos_sandbox_guards import Output, PolicyViolation, _message
    from automatos_sandbox_policy import PLUGIN_FILE, SNIPPET, CompileFailure, _compile
    from automatos_sandbox_views import _base_globals

__all__ = ["BundleModule", "CallContext", "RegisterContext"]

TOOL_NAME = re.compile(r"[a-z][a-z0-9_]{0,47}")
"""A tool's name as its plugin declares it (the platform calls it ``<slug>__<name>``)."""
_FUNCTION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,99}")
_CONTENT_PATH = re.compile(r"(?!/)(?!.*(^|/)\.\.?(/|$))[^\\\x00-\x1f]{1,255}")
"""A path inside the bundle, as the manifest's ``[provides]`` takes it (relative, no ``..``)."""
MAX_TOOLS = 100
MAX_SCHEMA_BYTES = 64 * 1024
MAX_DESCRIPTION = 2000
MAX_CONTENT = 200
"""Skills, and prompts, a plugin may declare (each)."""
MAX_RULES = 50
MAX_RULE_BYTES = 16 * 1024
_CO_VARARGS, _CO_VARKEYWORDS = 0x04, 0x08


class BundleModule:
    """A module of the plugin's bundle as its importers see it: its public globals, read live — not a module.

    Live, so that a circular import sees a partially initialised module as Python would. ``_`` names
    (the guards, ``__builtins__``, the module's private names) are not reachable, nor ``__name__``
    (so ``from m import x`` can never fall back to ``sys.modules``); the module cannot be modified
    from outside.
    """

    __slots__ = ("_name", "_space")

    def __init__(self, name: str, space: dict[str, Any]) -> None:
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_space", space)

    def __getattr__(self, attr: str) -> Any:
        if type(attr) is str and not attr.startswith("_"):
            try:
                return self._space[attr]
            except KeyError:
                pass
        raise AttributeError(f"module {self._name!r} has no attribute {attr!r}")

    def __setattr__(self, attr: str, value: Any) -> None:
        raise PolicyViolation(f"module {self._name!r} cannot be modified from outside it")

    def __delattr__(self, attr: str) -> None:
        raise PolicyViolation(f"module {self._name!r} cannot be modified from outside it")

    def __repr__(self) -> str:
        return f"<module {self._name!r} (plugin)>"


def _bundle_function(value: object) -> bool:
    return isinstance(value, types.FunctionType) and value.__code__.co_filename.startswith(PLUGIN_FILE)


def _exact_text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string, not {type(value).__name__}")
    return str.__str__(value)  # an exact str: none of a subclass's methods runs later


def _json_copy(value: Any, what: str, limit: int) -> Any:
    """``value`` as plain JSON data (a copy: nothing of the plugin's objects is kept), at most ``limit`` bytes."""
    try:
        text = json.dumps(value, default=_not_json, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be JSON data ({_message(exc)})") from None
    if len(text.encode("utf-8", "replace")) > limit:
        raise ValueError(f"{what} is larger than {limit} bytes of JSON")
    return json.loads(text)


def _first_paragraph(doc: Any) -> str:
    """The first paragraph of a docstring, its lines joined (``""`` without one)."""
    if type(doc) is not str:
        return ""
    paragraph = textwrap.dedent(doc).strip().split("\n\n", 1)[0]
    return " ".join(line.strip() for line in paragraph.splitlines() if line.strip())


def _schema_of(fn: types.FunctionType) -> dict[str, Any]:
    """The arguments schema of a handler ``fn(ctx, a, b=1, *, c, **rest)``: its parameters after ``ctx``.

    Every property is ``{}`` (any JSON value); those without a default are required; ``**rest``
    allows other properties. Read from the code object (no plugin code runs).
    """
    code = fn.__code__
    positional = code.co_varnames[: code.co_argcount]
    keyword = code.co_varnames[code.co_argcount : code.co_argcount + code.co_kwonlyargcount]
    if code.co_flags & _CO_VARARGS:
        raise ValueError("add_tool: a handler cannot take *args (arguments are passed by name)")
    if not positional:
        raise ValueError("add_tool: a handler takes ctx as its first parameter")
    if code.co_posonlyargcount > 1:
        raise ValueError("add_tool: a handler's parameters after ctx cannot be positional-only")
    defaults = fn.__defaults__ or ()
    keyword_defaults = fn.__kwdefaults__ or {}
    first_default = len(positional) - len(defaults)
    names = [*positional[1:], *keyword]
    required = [n for i, n in enumerate(positional) if 0 < i < first_default]
    required += [n for n in keyword if n not in keyword_defaults]
    schema: dict[str, Any] = {"type": "object", "properties": {name: {} for name in names}}
    if required:
        schema["required"] = required
    schema["additionalProperties"] = bool(code.co_flags & _CO_VARKEYWORDS)
    return schema


def _checked_schema(parameters: Any) -> dict[str, Any]:
    schema = _json_copy(parameters, "add_tool: parameters", MAX_SCHEMA_BYTES)
    if not isinstance(schema, dict) or schema.get("type") != "object":
        raise ValueError('add_tool: parameters must be the JSON Schema of an object ({"type": "object", ...})')
    if not isinstance(schema.get("properties", {}), dict):
        raise ValueError("add_tool: parameters.properties must be an object")
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(name, str) for name in required):
        raise ValueError("add_tool: parameters.required must be a list of names")
    return schema


class RegisterContext:
    """``ctx`` of ``register(ctx)``: collects the plugin's declarations (trusted code; the plugin only calls it).

    Each ``add_*`` checks its arguments and raises ``ValueError`` saying what is wrong; what it keeps
    is plain data copied from them. ``ctx.log`` and ``ctx.plugin`` are answered by ``__getattr__``
    (no property whose ``fget`` would read ``_`` attributes of any object); the class cannot be
    derived from, and its methods refuse any other ``self``.
    """

    __slots__ = ("_prompts", "_rules", "_run", "_skills", "_tools")
    _run: _PluginRun
    _tools: list[dict[str, Any]]
    _skills: list[str]
    _prompts: list[str]
    _rules: list[Any]

    def __init__(self, run: _PluginRun) -> None:
        for slot, value in (("_run", run), ("_tools", []), ("_skills", []), ("_prompts", []), ("_rules", [])):
            object.__setattr__(self, slot, value)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise PolicyViolation("ctx's class cannot be derived from")

    def __getattr__(self, attr: str) -> Any:
        if attr == "log":
            return self._run.logger
        if attr == "plugin":
            return types.MappingProxyType(dict(self._run.about))
        raise AttributeError(f"ctx has no attribute {attr!r} in register(ctx)")

    def __setattr__(self, attr: str, value: Any) -> None:
        raise PolicyViolation("ctx cannot be modified")

    def __delattr__(self, attr: str) -> None:
        raise PolicyViolation("ctx cannot be modified")

    def _own(self) -> None:
        if type(self) is not RegisterContext:
            raise PolicyViolation("ctx's methods apply to ctx only")

    def add_tool(self, fn: Any, name: Any = None, description: Any = None, parameters: Any = None) -> None:
        """Declare ``fn`` (a function at the top level of a bundle module) as a tool."""
        RegisterContext._own(self)
        if len(self._tools) >= MAX_TOOLS:
            raise ValueError(f"add_tool: a plugin declares at most {MAX_TOOLS} tools")
        handler = self._run.handler_of(fn)
        tool = str.__str__(fn.__name__) if name is None else _exact_text(name, "add_tool: name")
        if not TOOL_NAME.fullmatch(tool):
            raise ValueError(f"add_tool: tool name {tool[:60]!r} must match ^[a-z][a-z0-9_]{{0,47}}$")
        if any(declared["name"] == tool for declared in self._tools):
            raise ValueError(f"add_tool: a tool named {tool!r} is declared already")
        if description is None:
            text = _first_paragraph(fn.__doc__)
        else:
            text = _exact_text(description, "add_tool: description")
        if len(text) > MAX_DESCRIPTION:
            raise ValueError(f"add_tool: the description of {tool!r} is longer than {MAX_DESCRIPTION} characters")
        schema = _schema_of(fn) if parameters is None else _checked_schema(parameters)
        if parameters is not None and fn.__code__.co_argcount < 1:
            raise ValueError("add_tool: a handler takes ctx as its first parameter")
        self._tools.append({"name": tool, "description": text, "parameters": schema, "handler": handler})

    def add_skill(self, path: Any) -> None:
        """Declare a skill: a text file of the bundle, by its path."""
        RegisterContext._own(self)
        self._content(self._skills, path, "add_skill")

    def add_prompt(self, path: Any) -> None:
        """Declare a prompt: a text file of the bundle, by its path."""
        RegisterContext._own(self)
        self._content(self._prompts, path, "add_prompt")

    def add_routing_rule(self, rule: Any) -> None:
        """Declare a routing rule: a JSON object (at most 16 KiB)."""
        RegisterContext._own(self)
        if len(self._rules) >= MAX_RULES:
            raise ValueError(f"add_routing_rule: a plugin declares at most {MAX_RULES} routing rules")
        if not isinstance(rule, dict):
            raise ValueError(f"add_routing_rule: a rule is a dict, not {type(rule).__name__}")
        copy = _json_copy(rule, "add_routing_rule: the rule", MAX_RULE_BYTES)
        if copy in self._rules:
            raise ValueError("add_routing_rule: this rule is declared already")
        self._rules.append(copy)

    def _content(self, kept: list[str], path: Any, what: str) -> None:
        text = _exact_text(path, f"{what}: path")
        if not _CONTENT_PATH.fullmatch(text):
            raise ValueError(f"{what}: {text[:60]!r} is not a relative path in the bundle (no '..', no leading '/')")
        if text in kept:
            raise ValueError(f"{what}: {text!r} is declared already")
        if len(kept) >= MAX_CONTENT:
            raise ValueError(f"{what}: a plugin declares at most {MAX_CONTENT} of these")
        kept.append(text)

    def _declarations(self) -> dict[str, Any]:
        return {"tools": self._tools, "skills": self._skills, "prompts": self._prompts, "routing_rules": self._rules}


class CallContext:
    """``ctx`` of a tool handler ``fn(ctx, **arguments)``: the run's capabilities, log, env and identity.

    ``ctx.http``/``ctx.kv`` (any capability granted to the run, by its name) exist only when granted;
    ``ctx.env`` and ``ctx.plugin`` are read-only mappings; nothing on it can be modified. Every
    attribute is answered by ``__getattr__`` (no property, no method: nothing of the class reads
    another object's ``_`` attributes), and the class cannot be derived from.
    """

    __slots__ = ("_caps", "_env", "_log", "_plugin", "_workspace")

    def __init__(self, run: _PluginRun) -> None:
        env = run.job.get("env")
        values = {str(k): str(v) for k, v in env.items()} if isinstance(env, dict) else {}
        object.__setattr__(self, "_caps", run.capabilities)
        object.__setattr__(self, "_env", types.MappingProxyType(values))
        object.__setattr__(self, "_log", run.logger)
        object.__setattr__(self, "_plugin", types.MappingProxyType(dict(run.about)))
        object.__setattr__(self, "_workspace", run.workspace)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise PolicyViolation("ctx's class cannot be derived from")

    def __getattr__(self, attr: str) -> Any:
        if attr == "env":
            return self._env
        if attr == "log":
            return self._log
        if attr == "plugin":
            return self._plugin
        if attr == "workspace_id":
            return self._workspace
        caps = self._caps
        if type(attr) is str and attr in caps:
            return caps[attr]
        if attr in ("http", "kv"):
            raise AttributeError(f"ctx.{attr}: this plugin was not granted {attr!r} (see its permissions)")
        raise AttributeError(f"ctx has no attribute {attr!r}")

    def __setattr__(self, attr: str, value: Any) -> None:
        raise PolicyViolation("ctx cannot be modified")

    def __delattr__(self, attr: str) -> None:
        raise PolicyViolation("ctx cannot be modified")


class _PluginRun:
    """One plugin job: the bundle's modules, executed afresh for this run only, and its action.

    Modules are compiled on first import (code objects cached by name and sha256 of the source,
    like snippets); each runs once per run in globals of its own built like a snippet's, and is
    handed to importers as a :class:`BundleModule`. Nothing of a module outlives its run.
    """

    def __init__(
        self, job: dict[str, Any], workspace: Any, output: Output, logger: Logger, caps: dict[str, Any]
    ) -> None:
        modules = job.get("modules")
        self.job = job
        self.sources: dict[str, str] = (
            {str(k): v for k, v in modules.items() if isinstance(v, str)} if isinstance(modules, dict) else {}
        )
        self.packages: set[str] = set()
        """Dotted names with modules below them (a package, or a namespace package when it has no source)."""
        for name in self.sources:
            parts = name.split(".")
            self.packages.update(".".join(parts[:i]) for i in range(1, len(parts)))
        self.loaded: dict[str, BundleModule] = {}
        self.spaces: list[dict[str, Any]] = []
        self.loading: set[str] = set()
        self.output = output
        self.logger = logger
        self.capabilities = {name: cap for name, cap in caps.items() if name != "log"}
        self.workspace = workspace if isinstance(workspace, str) else None
        about = job.get("plugin")
        self.about = {str(k): str(v) for k, v in about.items()} if isinstance(about, dict) else {}
        self.compile_depth = sys.getrecursionlimit()

    def known(self, name: str) -> bool:
        return name in self.sources or name in self.packages

    def load(self, name: str) -> BundleModule:
        """The module ``name`` of this run, executed on first import (its parents first, as Python does)."""
        view = self.loaded.get(name)
        if view is not None:
            return view  # loaded, or still loading: a circular import sees it partially initialised
        parent, _, child = name.rpartition(".")
        if parent:
            self.load(parent)
            view = self.loaded.get(name)  # the parent's own code may have imported it
            if view is not None:
                return view
        space = _base_globals(self.output)
        space["__name__"] = name  # the functions defined there know their module
        self.spaces.append(space)
        view = BundleModule(name, space)
        source = self.sources.get(name)
        code = None if source is None else self._compile(name, source)
        self.loaded[name] = view
        if code is not None:
            self.loading.add(name)
            try:
                exec(code, space)
            except BaseException:
                del self.loaded[name]  # like Python: a module that failed is not imported
                raise
            finally:
                self.loading.discard(name)
        if parent:
            self.loaded[parent]._space[child] = view  # ``import a.b`` makes ``a.b`` reachable
        return view

    def _compile(self, name: str, source: str) -> Any:
        saved = sys.getrecursionlimit()
        sys.setrecursionlimit(max(saved, self.compile_depth))  # the compiler nests as a snippet's does
        try:
            return _compile(source, f"{PLUGIN_FILE}{name}>")
        except CompileFailure as exc:
            raise CompileFailure(exc.kind, f"module {name}: {exc.message}", exc.line, exc.column) from None
        finally:
            sys.setrecursionlimit(saved)

    def import_module(self, name: Any, importer: Any, fromlist: Any, level: Any) -> BundleModule | None:
        """``__import__`` of a bundle module; ``None`` when ``name`` is not the bundle's (the allow-list decides)."""
        if type(name) is not str or type(level) is not int:
            return None
        if level > 0:
            full = self._relative(str.__str__(name), importer, level)
        else:
            full = str.__str__(name)
            if not self.known(full.partition(".")[0]):
                return None
            if not self.known(full):
                raise ModuleNotFoundError(f"No module named {full!r} in the plugin's bundle")
        module = self.load(full)
        if not fromlist:
            return self.loaded[full.partition(".")[0]]  # ``import a.b.c`` binds ``a``
        for item in fromlist:
            if type(item) is not str or item.startswith("_"):
                raise PolicyViolation(f"cannot import {item!r} from {full!r}: names starting with '_' are private")
            if item in module._space:
                continue
            if self.known(f"{full}.{item}"):
                self.load(f"{full}.{item}")
                continue
            hint = " (it is partially initialised: a circular import)" if full in self.loading else ""
            raise ImportError(f"cannot import name {item!r} from {full!r}{hint}")
        return module

    def _relative(self, name: str, importer: Any, level: int) -> str:
        here = importer.get("__name__") if type(importer) is dict else None
        if type(here) is not str or not self.known(here):
            raise PolicyViolation("relative imports are allowed only in the plugin's own modules")
        package = here if here in self.packages else here.rpartition(".")[0]
        for _ in range(level - 1):
            package = package.rpartition(".")[0]
        if not package:
            raise ImportError(f"attempted relative import beyond the top-level package (in {here})")
        full = f"{package}.{name}" if name else package
        if not self.known(full):
            raise ModuleNotFoundError(f"No module named {full!r} in the plugin's bundle")
        return full

    def handler_of(self, fn: Any) -> str:
        """``module:function`` of a tool handler; ``ValueError`` unless it is a top-level bundle function."""
        if not _bundle_function(fn):
            raise ValueError(f"add_tool: expected a function of the plugin's modules, not {type(fn).__name__}")
        module, qualname = fn.__module__, fn.__qualname__
        view = self.loaded.get(module) if type(module) is str else None
        if (
            view is None
            or module not in self.sources
            or type(qualname) is not str
            or not _FUNCTION_NAME.fullmatch(qualname)
            or view._space.get(qualname) is not fn
        ):
            raise ValueError(
                f"add_tool: {str(qualname)[:100]!r} must be a function defined at the top level of a plugin module "
                "(not a method, a nested function or a lambda), reachable by its name"
            )
        return f"{module}:{qualname}"

    def _function(self, module: str, name: str, missing: str) -> Any:
        if module not in self.sources:
            raise LookupError(missing)
        fn = self.load(module)._space.get(name)
        if not _bundle_function(fn):
            raise LookupError(missing)
        return fn

    def execute(self) -> Any:
        """Run the job's action: ``register(ctx)``'s declarations, or the handler's return value."""
        action = self.job.get("action")
        if action == "register":
            entry = str(self.job.get("entry"))
            missing = f"the entry module {entry!r} defines no register(ctx) function"
            register = self._function(entry, "register", missing)
            ctx = RegisterContext(self)
            register(ctx)
            return ctx._declarations()
        if action == "call":
            handler = str(self.job.get("handler") or "")
            module, _, name = handler.partition(":")
            fn = self._function(module, name, f"handler {handler!r}: module {module!r} has no function {name!r}")
            arguments = self.job.get("arguments")
            return fn(CallContext(self), **(arguments if isinstance(arguments, dict) else {}))
        raise ValueError(f"unknown plugin action {action!r}")


def _error_module(exc: BaseException) -> str | None:
    """The plugin module of the last sandbox frame the traceback passes through."""
    module, tb = None, exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith(PLUGIN_FILE):
            module = filename[len(PLUGIN_FILE) : -1]
        elif filename == SNIPPET:
            module = None
        tb = tb.tb_next
    return module


def _place(error: dict[str, Any], exc: BaseException) -> None:
    """A plugin run's error: which module its line is in; never ``stage="compile"`` (other modules may have run)."""
    error.pop("stage", None)
    module = _error_module(exc)
    if (
        module is not None
        and error.get("kind") in ("runtime", "policy", "capability")
        and not isinstance(exc, CompileFailure)
    ):
        error["message"] = f"{error.get('message')} (in module {module})"
