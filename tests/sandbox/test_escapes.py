"""The escape corpus: every snippet here tries to break out of the sandbox or exhaust it, and must fail.

Each case names its technique (the advisory or the classic trick) and the error the sandbox must give:
``policy``/``syntax`` for a refused construct, ``limit`` with the limit's name for a resource, and so
on. Where a trick would *do* something if it worked, it tries to leave a trace — a file in the watched
directory or in ``/tmp`` (named with :data:`TOKEN`), a connection to a local listener — and
:func:`test_nothing_happened_outside` (run after the corpus) checks that none was left, that the pool
still answers and that library state shared by runs (``json.loads``…) is intact.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import socket
import stat
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import pytest

from automatos.sandbox import Limits, WorkerPool
from automatos.sandbox.process import WORKER_PATH
from tests.sandbox.waiting import until

LIMITS = Limits(cpu_seconds=0.5, wall_seconds=5, memory_mb=64, output_bytes=10_000, result_bytes=10_000)
TOKEN = f"automatos-escape-{uuid.uuid4().hex[:12]}"
"""Part of the name of every file an escape would create, so that a leftover is found anywhere."""


class EchoCapability:
    """A granted capability (``cap.echo(x)`` returns ``x``), to try its internals."""

    name = "cap"
    methods = frozenset({"echo"})

    async def call(self, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        return args[0] if args else None


@dataclass(frozen=True)
class Case:
    id: str
    code: str
    kind: str
    limit: frozenset[str] = frozenset()
    message: str = ""
    limits: Limits = field(default=LIMITS)


PATIENT = msgspec.structs.replace(LIMITS, wall_seconds=300)
"""For every case but the wall clock's own: a loaded machine may take seconds of wall time to spend
0.5 s of CPU (and the RLIMIT_CPU backstop after it), and the wall limit must not win that race."""


def case(id: str, code: str, kind: str = "policy", *, limit: str | set[str] = "", message: str = "") -> Any:
    limits = frozenset({limit} if isinstance(limit, str) and limit else limit or ())
    run_limits = LIMITS if "wall_seconds" in limits else PATIENT
    return pytest.param(Case(id, textwrap.dedent(code).strip() + "\n", kind, limits, message, run_limits), id=id)


# Reaching os.open/os.system or a raw socket is the goal of most escapes; these lines use what they got.
_USE_OS_GLOBALS = """
g['open'](inputs['dir'] + '/pwned-' + inputs['token'], 0o101)
g['system']('touch /tmp/' + inputs['token'])
"""
_USE_SUBCLASSES = (
    """
sock_cls = [c for c in classes if ga(c, '__name__') == 'socket' and ga(c, '__module__') == '_socket'][0]
s = sock_cls(2, 1)
s.connect(('127.0.0.1', inputs['port']))
wrap = [c for c in classes if ga(c, '__name__') == '_wrap_close'][0]
g = ga(ga(wrap, '__init__'), '__globals__')
"""
    + _USE_OS_GLOBALS
)

CASES = [
    # --- dunder chains to __subclasses__ ------------------------------------------------------------
    case("subclasses-dunder-chain", "result = ().__class__.__bases__[0].__subclasses__()"),
    case("subclasses-getattr-computed-name", "t = getattr((), '__cla' + 'ss__')", message="'__class__'"),
    case(
        "subclasses-getattr-chr-built-name",
        "name = ''.join(map(chr, [95, 95, 99, 108, 97, 115, 115, 95, 95]))\nt = getattr(1, name)",
    ),
    case(
        # RestrictedPython PR #282: a str subclass whose startswith() lies passes a naive name check
        "subclasses-str-subclass-name-startswith",
        textwrap.dedent(
            """
            class S(str):
                def startswith(self, *a):
                    return False
            def ga(o, n):
                return getattr(o, S(n))
            classes = ga(ga(ga((), '__class__'), '__base__'), '__subclasses__')()
            """
        )
        + _USE_SUBCLASSES,
        message="'__class__'",
    ),
    case(
        "subclasses-str-subclass-eq-hash",
        """
        class S(str):
            def __eq__(self, other):
                return True
            def __hash__(self):
                return hash('value')
            def startswith(self, *a):
                return False
        t = getattr((), S('__class__'))
        """,
    ),
    case("subclasses-mro-method", "result = str(int.mro())", message="mro"),
    case("subclasses-hasattr-then-getattr", "ok = hasattr((), '__class__')\nt = getattr((), '__class__')"),
    # --- classes and metaclasses ---------------------------------------------------------------------
    case("type-three-arguments", "C = type('C', (), {'__del__': lambda self: 0})", message="one argument"),
    case(
        "type-of-class-is-type",
        """
        T = type(int)
        C = T('C', (), {'__repr__': lambda self: 'evil'})
        """,
        message="type() of a class",
    ),
    case(
        # with `type` a metaclass with __eq__/__hash__ could pass for a snippet class and make a
        # shared class (the module view) writable: json.loads trojaned for every later run
        "type-metaclass-spoofs-writable-class",
        """
        import json
        V = type(json)
        T = type(V)
        M = T('M', (T,), {'__eq__': lambda a, b: True, '__hash__': lambda a: hash(V)})
        Fake = M('Fake', (), {})
        setattr(V, 'loads', lambda *a, **k: 'trojan')
        """,
    ),
    case("class-metaclass-keyword", "class A(metaclass=type):\n    pass", message="metaclass"),
    case("class-derives-from-type", "class M(type):\n    pass", message="cannot derive"),
    case("class-derives-from-enum", "import re\nclass F(type(re.I)):\n    pass", message="metaclass"),
    case("class-dunder-getattr", "class A:\n    def __getattr__(self, name):\n        return 1"),
    case("class-dunder-getattribute", "class A:\n    def __getattribute__(self, name):\n        return 1"),
    case("class-init-subclass", "class A:\n    def __init_subclass__(cls):\n        pass"),
    case("class-class-getitem", "class A:\n    def __class_getitem__(cls, item):\n        return item"),
    case("class-del-finalizer", "class A:\n    def __del__(self):\n        pass"),
    case("class-format-hook", "class A:\n    def __format__(self, spec):\n        return spec"),
    case("class-exit-hook", "class A:\n    def __exit__(self, *exc):\n        return True"),
    case("class-dunder-by-assignment", "class A:\n    __repr__ = lambda self: 'x'"),
    case("class-instancecheck-fake-class", "class A:\n    def __instancecheck__(self, obj):\n        return True"),
    case(
        "type-of-view-constructs-no-module",
        "import json\nV = type(json)\nfake = V('os', {})\nfake.system('touch /tmp/' + inputs['token'])",
        "runtime",
        message="AttributeError",
    ),
    case("type-builtin-is-a-guard-function", "g = getattr(type, '__globals__')"),
    case(
        "enum-functional-api-dunders",
        "import uuid\nE = uuid.Enum('E', [('__str__', lambda s: 'x')])",
        message="uuid.Enum",
    ),
    case("object-setattr-on-view", "import json\nobject.__setattr__(json, 'loads', len)"),
    # --- str.format and friends (CVE-2023-41039 / GHSA-xjw2-6jm9-rf67, GHSA-hp3v-5vw7-fx9w) ------------
    case("str-format-attribute-walk", "result = '{0.__class__.__base__}'.format(1)", message="format"),
    case("str-format-map-attribute-walk", "result = '{a.__class__}'.format_map({'a': 1})", message="format_map"),
    case("str-format-unbound-method", "result = str.format('{0.__class__}', 1)", message="format"),
    case("str-format-via-getattr", "f = getattr('{0.__class__}', 'format')\nresult = f(1)", message="format"),
    case(
        "str-format-via-super",
        "class S(str):\n    pass\nresult = super(S, S('{0.__class__}')).format(1)",
        message="format",
    ),
    case(
        "userstring-format-attribute-walk",
        "import collections\nresult = collections.UserString('{0.__class__}').format(1)",
        message="format",
    ),
    case(
        "userstring-subclass-format-map",
        "import collections\nclass U(collections.UserString):\n    pass\n"
        "result = U('{a.__class__}').format_map({'a': 1})",
        message="format_map",
    ),
    case("string-formatter-withheld", "import string\nresult = string.Formatter().format('{0.__class__}', 1)"),
    case("string-formatter-from-import", "from string import Formatter"),
    case("fstring-nested-dunder", "result = f'{(1).__class__}'"),
    case("fstring-format-spec-dunder", "result = f'{1:{(1).__class__}}'"),
    case("fstring-debug-conversion-dunder", "x = 1\nresult = f'{x.__class__!r}'"),
    case(
        "format-builtin-spec-is-not-a-template", "result = format(1, '{0.__class__}')", "runtime", message="ValueError"
    ),
    # --- frames: generators, coroutines, tracebacks (CVE-2023-37271 / GHSA-wqc8-x2pr-7jqh) --------------
    case("generator-gi-frame-f-back", "g = (x for x in [1])\nresult = g.gi_frame.f_back.f_globals"),
    case("generator-gi-frame-getattr", "g = (x for x in [1])\nf = getattr(g, 'gi_frame')", message="gi_frame"),
    case("generator-gi-code-computed", "g = (x for x in [1])\nc = getattr(g, 'gi_' + 'code')"),
    case(
        "generator-yield-from-gi-yieldfrom",
        """
        def inner():
            yield 1
        def outer():
            yield from inner()
        g = outer()
        next(g)
        i = getattr(g, 'gi_yieldfrom')
        """,
    ),
    case("coroutine-cr-frame", "async def f():\n    pass\nc = f()\nresult = c.cr_frame", message="AsyncFunctionDef"),
    case("coroutine-send", "async def f():\n    await g()\nc = f()\nc.send(None)"),
    case("async-generator-ag-frame", "async def g():\n    yield 1\nf = getattr(g(), 'ag_frame')"),
    case("traceback-tb-frame", "try:\n    1 / 0\nexcept Exception as e:\n    tb = e.__traceback__.tb_frame"),
    case("traceback-getattr", "try:\n    1 / 0\nexcept Exception as e:\n    tb = getattr(e, '__traceback__')"),
    case(
        # CVE-2024-47532: AttributeError.obj hands back the object the failed lookup was made on
        "attribute-error-obj",
        "import json\ntry:\n    json.nope\nexcept AttributeError as e:\n    m = e.obj",
        message="AttributeError.obj",
    ),
    case("function-globals", "def f():\n    pass\nresult = f.__globals__"),
    case("function-globals-getattr", "def f():\n    pass\ng = getattr(f, '__glob' + 'als__')"),
    case("builtin-self-module", "m = getattr(len, '__self__')"),
    case("lambda-default-dunder", "f = lambda x=().__class__: x"),
    case(
        "decorator-getattr-globals",
        "def deco(f):\n    return getattr(f, '__globals__')\n@deco\ndef g():\n    pass",
    ),
    case("walrus-dunder", "if (c := getattr(1, '__class__')):\n    pass"),
    case("match-class-pattern-captures-attribute", "match 1:\n    case int(__class__=c):\n        result = c"),
    case("match-statement", "match 1:\n    case 1:\n        result = 1", message="Match"),
    # CVE-2025-22153: try/except* let a type confusion in CPython bypass the guards
    case("try-star-exception-group", "try:\n    pass\nexcept* ValueError:\n    pass", message="TryStar"),
    case("exception-group-builtin", "e = ExceptionGroup('x', [ValueError()])", message="ExceptionGroup"),
    case("nonlocal-statement", "def f():\n    x = 1\n    def g():\n        nonlocal x\n    return g"),
    # --- getattr through library callables ------------------------------------------------------------
    case("sorted-key-getattr", "result = sorted(['__class__'], key=lambda n: str(getattr(1, n)))"),
    case("map-getattr", "result = list(map(getattr, [1], ['__class__']))"),
    case("functools-reduce-getattr", "import functools\nt = functools.reduce(getattr, ['__class__', '__base__'], 1)"),
    case("functools-partial-getattr", "import functools\nt = functools.partial(getattr, 1)('__class__')"),
    case(
        "json-object-hook-getattr", "import json\nt = json.loads('{}', object_hook=lambda d: getattr(d, '__class__'))"
    ),
    case("re-sub-callback-getattr", "import re\nt = re.sub('a', lambda m: getattr(m, '__class__'), 'a')"),
    case(
        "functools-update-wrapper-merges-globals",
        """
        import functools
        def probe():
            pass
        functools.update_wrapper(probe, getattr, assigned=(), updated=('__globals__',))
        def escape():
            ev = eval
            return ev("__import__('os').system('touch /tmp/' + inputs['token'])")
        result = escape()
        """,
        message="update_wrapper",
    ),
    case(
        "functools-wraps-custom-assigned",
        "import functools\ndef f():\n    pass\nfunctools.wraps(len, assigned=('__self__',))(f)",
        message="wraps",
    ),
    case("functools-wraps-onto-library-function", "import functools\nfunctools.update_wrapper(len, max)"),
    case(
        # functools.singledispatch().register(f) evaluates f's string annotations with eval()
        "functools-singledispatch-annotation-eval",
        """
        import functools
        @functools.singledispatch
        def f(x):
            return 1
        def h(x: "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == '_wrap_close']"):
            return 2
        f.register(h)
        """,
        message="singledispatch",
    ),
    case(
        "functools-total-ordering-library-class",
        "import functools, collections\nfunctools.total_ordering(collections.UserList)",
    ),
    case(
        "namedtuple-code-injection-field",
        "import collections\nP = collections.namedtuple('P', ['x=__import__(\"os\")'])",
        "runtime",
        message="ValueError",
    ),
    case(
        "namedtuple-dunder-field",
        "import collections\nP = collections.namedtuple('P', ['__class__'])",
        "runtime",
        message="ValueError",
    ),
    case("random-internals", "import random\nr = random.Random(1)\nf = getattr(r, '_randbelow')"),
    case("decimal-context-internals", "import decimal\nc = getattr(decimal.getcontext(), '_apply')"),
    case("hashlib-new-empty-name", "import hashlib\nh = hashlib.new('')", "runtime", message="ValueError"),
    case("uuid-getnode-subprocess", "import uuid\nn = uuid.getnode()", message="uuid.getnode"),
    case("uuid-uuid1-mac", "import uuid\nu = uuid.uuid1()", message="uuid.uuid1"),
    case("uuid-private-int", "import uuid\ni = getattr(uuid.uuid4(), '_UUID__int')"),
    case("datetime-reduce-pickle", "import datetime\nr = datetime.date.today().__reduce__()"),
    case("datetime-reduce-ex-getattr", "import datetime\nr = getattr(datetime.date.today(), '__reduce_ex__')(2)"),
    # --- module views, builtins, capabilities ------------------------------------------------------
    case("moduleview-members", "import json\nm = json._members"),
    case("moduleview-members-getattr", "import json\nm = getattr(json, '_members')"),
    case("moduleview-submodule", "import json\nd = json.decoder", message="modules are not reachable"),
    case("moduleview-write", "import json\njson.loads = len", message="cannot be modified"),
    case("moduleview-setattr", "import json\nsetattr(json, 'loads', len)", message="cannot be modified"),
    case("moduleview-delattr", "import json\ndel json.loads", message="cannot be modified"),
    case("moduleview-augmented-write", "import json\njson.dumps += len", message="cannot be modified"),
    case(
        "library-class-augmented-write", "import collections\ncollections.Counter.x += 1", message="cannot be modified"
    ),
    case("tuple-item-augmented-write", "t = ([1],)\nt[0] += [2]", message="cannot be modified"),
    case("builtins-dict-write", "__builtins__['open'] = len"),
    case("builtin-function-attribute-write", "len.x = 1", message="cannot be modified"),
    case("library-class-attribute-write", "import collections\ncollections.Counter.most_common = len"),
    case("library-shared-dict-write", "import textwrap\ntextwrap.TextWrapper.unicode_whitespace_trans[32] = 'X'"),
    case("abc-register-shared-registry", "import collections\ncollections.UserDict.register(int)", message="register"),
    case(
        # a virtual subclass of the snippet's own UserDict subclass passes isinstance(x, UserDict)
        "abc-register-own-subclass-fakes-container",
        "import collections, json\nclass D(collections.UserDict):\n    pass\nD.register(type(json.loads))\n"
        "json.loads.leak = 'for the next run'",
        message="cannot be modified",
    ),
    case("logger-internals", "lines = getattr(log, '_lines')"),
    case("logger-replace-method", "log.info = print", message="cannot be modified"),
    case("capability-methods-internal", "m = getattr(cap, '_methods')"),
    case("capability-replace-method", "setattr(cap, 'echo', len)", message="cannot be modified"),
    case("capability-method-internals", "ch = getattr(cap.echo, '_channel')"),
    case("printed-internals", "print('x')\no = getattr(printed, '_output')"),
    case(
        # `printed` used to return the collector: its Output's list took text past output_bytes, or crashed the worker
        "printed-collector-output-list",
        "print('x')\np = printed\np.output.parts.append('y' * 100000)",
        "runtime",
        message="AttributeError",
    ),
    case("print-to-file", "print('x', file=inputs)", message="file"),
    # GHSA-ffg3-p8fm-mjx2: a positional-only parameter named like a guard hook shadows it
    case("guard-hook-shadow-positional-only", "import json\ndef f(_write_, /):\n    json.loads = 1\nf(lambda o: o)"),
    case("guard-hook-shadow-keyword-only", "def f(*, _getattr_=None):\n    return ().x"),
    case("guard-hook-rebind-global", "global _getattr_\n_getattr_ = lambda o, n: 1"),
    # --- imports ---------------------------------------------------------------------------------------
    case("import-os", "import os\nos.system('touch /tmp/' + inputs['token'])", message="import of 'os'"),
    case("import-computed-dunder-import", "m = __import__('o' + 's')"),
    case("import-importlib", "import importlib\nm = importlib.import_module('os')", message="importlib"),
    case("import-sys", "import sys\nm = sys.modules['os']", message="import of 'sys'"),
    case("import-subprocess-fork", "import subprocess\nsubprocess.run(['touch', '/tmp/' + inputs['token']])"),
    case("import-ctypes", "import ctypes"),
    case("import-submodule-of-allowed", "import collections.abc", message="collections.abc"),
    case("import-withheld-name", "from uuid import getnode", message="getnode"),
    case("import-relative", "from . import json", message="relative"),
    case(
        "network-socket",
        "import socket\ns = socket.create_connection(('127.0.0.1', inputs['port']))",
        message="import of 'socket'",
    ),
    case(
        "network-urllib",
        "import urllib.request\nurllib.request.urlopen('http://127.0.0.1:%d/' % inputs['port'])",
        message="urllib",
    ),
    # --- refused builtins ------------------------------------------------------------------------------
    case("builtin-open-write", "f = open(inputs['dir'] + '/pwned-' + inputs['token'], 'w')", message="open"),
    case("builtin-open-read", "f = open('/etc/passwd')", message="open"),
    case("builtin-exec-call", "exec('x = 1')", message="Exec"),
    case("builtin-eval-call", "x = eval('1')", message="Eval"),
    case("builtin-eval-alias", "e = eval\nx = e('1')", message="eval"),
    case("builtin-compile", "c = compile('1', 'x', 'eval')", message="compile"),
    case("builtin-globals", "g = globals()", message="globals"),
    case("builtin-vars", "v = vars()", message="vars"),
    case("builtin-locals", "v = locals()", message="locals"),
    case("builtin-dir", "d = dir(1)", message="dir"),
    case("builtin-breakpoint", "breakpoint()", message="breakpoint"),
    case("builtin-help", "help(len)", message="help"),
    case("builtin-input", "x = input()", message="input"),
    case("builtin-memoryview", "m = memoryview(b'x')", message="memoryview"),
    case("builtin-base-exception", "try:\n    1 / 0\nexcept BaseException:\n    pass", message="BaseException"),
    # --- CPU -------------------------------------------------------------------------------------------
    case("cpu-busy-loop", "while True:\n    pass", "limit", limit="cpu_seconds"),
    case(
        "cpu-loop-except-exception",
        "while True:\n    try:\n        while True:\n            pass\n    except Exception:\n        pass",
        "limit",
        limit="cpu_seconds",
    ),
    case(
        "cpu-loop-bare-except-swallows",
        "while True:\n    try:\n        while True:\n            pass\n    except:\n        pass",
        "limit",
        limit="cpu_seconds",
    ),
    case(
        "cpu-bare-except-then-finish",
        "try:\n    while True:\n        pass\nexcept:\n    pass\nresult = 'survived'",
        "limit",
        limit="cpu_seconds",
    ),
    case(
        "cpu-inside-c-code",
        "import itertools\nresult = sum(itertools.repeat(1, 10 ** 13))",
        "limit",
        limit="cpu_seconds",
    ),
    case(
        "cpu-result-dict-subclass-items",
        "class D(dict):\n    def items(self):\n        while True:\n            pass\nresult = D(a=1)",
        "limit",
        limit="cpu_seconds",
    ),
    case(
        "cpu-repr-in-error-message",
        "class A:\n    def __repr__(self):\n        while True:\n            pass\nraise ValueError(A())",
        "limit",
        limit="cpu_seconds",
    ),
    case(
        "cpu-generator-finally-at-cleanup",
        "def g():\n    try:\n        yield 1\n    finally:\n        while True:\n            pass\nx = g()\nnext(x)",
        "limit",
        limit="cpu_seconds",
    ),
    # --- memory ----------------------------------------------------------------------------------------
    case("memory-big-list", "x = [0] * (10 ** 9)", "limit", limit="memory_mb"),
    case("memory-big-string", "x = 'a' * (10 ** 9)", "limit", limit="memory_mb"),
    case("memory-big-int", "x = 10 ** 10 ** 8", "limit", limit={"memory_mb", "cpu_seconds"}),
    case(
        "memory-dict-growth",
        "d = {}\ni = 0\nwhile True:\n    d[i] = i\n    i += 1",
        "limit",
        limit={"memory_mb", "cpu_seconds"},
    ),
    case("memory-list-doubling", "x = [1]\nwhile True:\n    x = x + x", "limit", limit="memory_mb"),
    case("memory-bytearray", "x = bytearray(10 ** 10)", "limit", limit="memory_mb"),
    case(
        "memory-decimal-max-precision",
        "import decimal\ndecimal.getcontext().prec = decimal.MAX_PREC\nx = decimal.Decimal(1) / 7",
        "limit",
        limit={"memory_mb", "cpu_seconds"},
    ),
    case(
        "memory-generator-finally-at-cleanup",
        "def g():\n    try:\n        yield 1\n    finally:\n        y = 'a' * (10 ** 9)\nx = g()\nnext(x)\nresult = 1",
        "limit",
        limit="memory_mb",
    ),
    # --- recursion ---------------------------------------------------------------------------------------
    case("recursion-direct", "def f():\n    return f()\nf()", "limit", limit="recursion_depth"),
    case(
        "recursion-mutual", "def f():\n    return g()\ndef g():\n    return f()\nf()", "limit", limit="recursion_depth"
    ),
    case(
        "recursion-via-eq",
        "class A:\n    def __eq__(self, other):\n        return self == other\nx = A() == A()",
        "limit",
        limit="recursion_depth",
    ),
    case(
        "recursion-via-repr",
        "class A:\n    def __repr__(self):\n        return repr(self)\nx = repr(A())",
        "limit",
        limit="recursion_depth",
    ),
    case(
        "recursion-via-str-in-print",
        "class A:\n    def __str__(self):\n        return str(self)\nprint(A())",
        "limit",
        limit="recursion_depth",
    ),
    case(
        "recursion-deep-result",
        "x = []\nfor i in range(100000):\n    x = [x]\nresult = x",
        "limit",
        limit="recursion_depth",
    ),
    case("recursion-compile-deep-nesting", "x = " + "-" * 5000 + "1", "syntax", message="RecursionError"),
    # --- output and result -----------------------------------------------------------------------------
    case("output-print-loop", "while True:\n    print('x' * 100)", "limit", limit="output_bytes"),
    case("output-one-huge-print", "print('x' * (10 ** 6))", "limit", limit="output_bytes"),
    case(
        "output-flood-swallowed",
        "try:\n    while True:\n        print('x' * 1000)\nexcept:\n    pass\nresult = 1",
        "limit",
        limit="output_bytes",
    ),
    case("result-bomb-string", "result = 'x' * (10 ** 6)", "limit", limit="result_bytes"),
    case("result-bomb-nested", "result = [[0] * 1000] * 100", "limit", limit="result_bytes"),
    case("result-not-json", "result = object()", "result"),
    case("result-nan", "result = float('nan')", "result", message="JSON"),
    case("result-lone-surrogate", "result = '\\ud800'", "result", message="surrogates"),
    case("result-circular", "x = []\nx.append(x)\nresult = x", "result", message="Circular"),
]


class Watch:
    """What must stay untouched while the corpus runs: a directory, a TCP listener, this process."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port: int = self.server.getsockname()[1]
        self.connections = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.tmp_before = set(os.listdir("/tmp"))
        self.environ = dict(os.environ)
        self.cwd = os.getcwd()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.server.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            conn.close()

    def inputs(self) -> dict[str, Any]:
        return {"dir": str(self.dir), "port": self.port, "token": TOKEN}


@pytest.fixture(scope="module")
def watch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Watch]:
    watched = Watch(tmp_path_factory.mktemp("escape-watch"))
    watched.thread.start()
    yield watched
    watched.stopping.set()
    watched.thread.join(2)
    watched.server.close()


@pytest.mark.parametrize("escape", CASES)
async def test_escape_is_refused(pool: WorkerPool, watch: Watch, escape: Case) -> None:
    result = await pool.run(escape.code, watch.inputs(), escape.limits, [EchoCapability()])
    assert result.ok is False, result
    assert result.result is None
    assert result.error is not None
    assert result.error.kind == escape.kind, result.error
    if escape.limit:
        assert result.error.limit in escape.limit, result.error
        assert result.error.value is not None
    if escape.message:
        assert escape.message in result.error.message, result.error


def _files_in_worker_homes() -> list[str]:
    """Anything inside the workers' own (empty, read-only) working directories."""
    found = []
    for home in Path("/tmp").glob("automatos-sandbox-*"):
        found += [str(p) for p in home.rglob("*")]
    return found


async def test_nothing_happened_outside(pool: WorkerPool, watch: Watch) -> None:
    """After the corpus: no file, no connection, the pool answers, shared library state is intact."""
    assert list(watch.dir.iterdir()) == []
    new_in_tmp = set(os.listdir("/tmp")) - watch.tmp_before
    assert not [name for name in new_in_tmp if TOKEN in name]
    assert _files_in_worker_homes() == []
    assert watch.connections == 0
    environ = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    assert environ == {k: v for k, v in watch.environ.items() if k != "PYTEST_CURRENT_TEST"}
    assert os.getcwd() == watch.cwd
    probe = """
import json, textwrap, collections, decimal
result = [
    json.loads('[1, 2]'),
    textwrap.fill('a b', width=10),
    isinstance(5, collections.UserDict),
    str(decimal.Decimal(1) / 3)[:6],
    6 * 7,
]
"""
    await until(lambda: len(pool.pids) == pool.size, "the workers the corpus retired replaced")
    runs = await asyncio.gather(*(pool.run(probe, limits=LIMITS) for _ in range(4)))
    for run in runs:
        assert run.ok and run.result == [[1, 2], "a b", False, "0.3333", 42], run


# --- the shape of errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "line", "column"),
    [
        ("x = (1,\n", 1, 5),
        ("a = 1\nb = 2 +\n", 2, 8),
        ("def f():\nreturn 1\n", 2, 1),
        ("x = 1\n  y = 2\n", 2, 2),
        ("result = 'abc\n", 1, 10),
    ],
    ids=["unclosed-paren", "dangling-operator", "missing-indent", "unexpected-indent", "unterminated-string"],
)
async def test_syntax_errors_have_line_and_column(pool: WorkerPool, code: str, line: int, column: int) -> None:
    result = await pool.run(code, limits=LIMITS)
    assert not result.ok and result.error is not None
    assert (result.error.kind, result.error.line, result.error.column) == ("syntax", line, column), result.error
    assert result.error.message.split(":")[0] in ("SyntaxError", "IndentationError")


async def test_policy_violations_name_the_construct_and_line(pool: WorkerPool) -> None:
    compiled = await pool.run("x = 1\ny = x.__class__\n", limits=LIMITS)
    assert compiled.error is not None and compiled.error.kind == "policy"
    assert compiled.error.line == 2 and '"__class__"' in compiled.error.message
    run = await pool.run("x = 1\n\nimport os\n", limits=LIMITS)
    assert run.error is not None and run.error.kind == "policy" and run.error.line == 3
    assert "import of 'os' is not allowed" in run.error.message
    builtin = await pool.run("f = open('/etc/passwd')\n", limits=LIMITS)
    assert builtin.error is not None and builtin.error.message.startswith("open is not available in the sandbox")


async def test_limit_hits_name_the_limit_and_value(pool: WorkerPool) -> None:
    cpu = await pool.run("while True:\n    pass\n", limits=Limits(cpu_seconds=0.3, wall_seconds=300))
    assert cpu.error is not None and (cpu.error.kind, cpu.error.limit, cpu.error.value) == ("limit", "cpu_seconds", 0.3)
    assert "cpu_seconds limit of 0.3 exceeded" in cpu.error.message
    memory = await pool.run("x = 'a' * (10 ** 9)\n", limits=Limits(memory_mb=32, wall_seconds=300))
    assert memory.error is not None and (memory.error.limit, memory.error.value) == ("memory_mb", 32)
    output = await pool.run("print('x' * 100)\n", limits=Limits(output_bytes=50))
    assert output.error is not None and (output.error.limit, output.error.value) == ("output_bytes", 50)
    assert output.stdout == "x" * 50  # what fitted is kept
    result = await pool.run("result = list(range(100))\n", limits=Limits(result_bytes=20))
    assert result.error is not None and (result.error.limit, result.error.value) == ("result_bytes", 20)


# --- state between runs and the worker's own standing ------------------------------------------------


async def test_library_state_does_not_carry_over_between_runs() -> None:
    async with WorkerPool(1) as single:
        first = await single.run(
            "import decimal, random\n"
            "decimal.getcontext().prec = 3\n"
            "decimal.setcontext(decimal.Context(prec=2))\n"
            "random.seed(42)\n"
            "result = str(decimal.Decimal(1) / 3)\n",
            limits=LIMITS,
        )
        assert first.ok and first.result == "0.33"
        second = await single.run(
            "import decimal, random\nresult = [str(decimal.Decimal(1) / 3), random.random()]\n", limits=LIMITS
        )
        third = await single.run("import random\nrandom.seed(42)\nresult = random.random()\n", limits=LIMITS)
        assert second.ok and third.ok
        assert second.result[0] == "0.3333333333333333333333333333"
        assert second.result[1] != third.result  # the generator was reseeded, not left at seed 42


def _readable_by_anyone(path: str) -> bool:
    path = os.path.realpath(path)
    while True:
        mode = os.stat(path).st_mode
        if not mode & stat.S_IXOTH:
            return False
        if os.path.dirname(path) == path:
            return True
        path = os.path.dirname(path)


def _ids(pid: int) -> tuple[set[str], set[str]]:
    """The real, effective, saved and filesystem uids and gids of a process."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    uids = next(line for line in status if line.startswith("Uid:")).split()[1:]
    gids = next(line for line in status if line.startswith("Gid:")).split()[1:]
    return set(uids), set(gids)


@pytest.mark.skipif(os.geteuid() != 0, reason="privileges are dropped only when the pool runs as root")
async def test_a_worker_started_as_root_drops_privileges_when_it_can(pool: WorkerPool) -> None:
    """Uid/gid 65534 when the interpreter's files are readable by anyone; left as is otherwise."""
    expected = "65534" if _readable_by_anyone(os.path.dirname(os.__file__)) else "0"
    for pid in pool.pids:
        assert _ids(pid) == ({expected}, {expected})


_DROPPED = """
import importlib.util, json, os, sys
spec = importlib.util.spec_from_file_location("sandbox_worker", sys.argv[1])
worker = importlib.util.module_from_spec(spec)
spec.loader.exec_module(worker)
lockdown = worker.sibling("lockdown")
lockdown._readable_by_anyone = lambda path: True  # as in an image whose interpreter anyone may read
lockdown._lock_down(sys.argv[2])
out = {"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups()}
try:
    pid = os.fork()
except OSError as exc:
    out["fork"] = exc.errno
else:
    if pid == 0:
        os._exit(0)
    out["fork"] = "forked"
code = (
    "import collections, datetime\\n"
    "result = [collections.Counter('aab').most_common(1), datetime.date(2024, 1, 2).strftime('%d/%m'),"
    " 'x'.encode('utf-16').hex(), datetime.datetime.strptime('2024', '%Y').year]\\n"
)
answer = worker.run_snippet({"id": "1", "code": code, "limits": {"cpu_seconds": 5}}, None)
out["run"] = [answer["ok"], answer["result"], answer["error"]]
print(json.dumps(out))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="privileges are dropped only when the pool runs as root")
@pytest.mark.parametrize("confinement", ["off", "auto"])
def test_dropped_privileges_forbid_fork_and_keep_lazy_imports_working(confinement: str) -> None:
    done = subprocess.run(
        [sys.executable, "-I", "-c", _DROPPED, WORKER_PATH, confinement],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    out = json.loads(done.stdout)
    assert (out["uid"], out["gid"], out["groups"]) == (65534, 65534, [])
    # RLIMIT_NPROC 0 now applies; with the second wall on (tests/sandbox/test_confinement.py), seccomp answers first
    assert out["fork"] == (errno.EAGAIN if confinement == "off" else errno.EPERM)
    assert out["run"] == [True, [[["a", 2]], "02/01", "fffe7800", 2024], None]


_AUDIT = """
import importlib.util, json, sys, types
spec = importlib.util.spec_from_file_location("sandbox_worker", sys.argv[1])
worker = importlib.util.module_from_spec(spec)
spec.loader.exec_module(worker)
guards, views = worker.sibling("guards"), worker.sibling("views")
worker.sibling("lockdown")._freeze_shared_state()
roots = {f"{n}.{k}": v for n in views.ALLOWED_MODULES for k, v in views._view(n)._members.items()}
roots.update({f"builtins.{k}": v for k, v in views._BUILTINS.items() if not k.startswith("_")})
mutable = tuple(guards._WRITABLE) + (set, bytearray)
found, seen, queue = [], set(), [(path, value, 0) for path, value in roots.items()]
while queue:
    path, obj, depth = queue.pop(0)
    if id(obj) in seen:
        continue
    seen.add(id(obj))
    if isinstance(obj, mutable) or isinstance(obj, types.ModuleType):
        found.append(path)
        continue
    if depth == 4:
        continue
    for name in dir(obj):
        try:
            guards._check_name(name)
            value = guards.guarded_getattr(obj, name)
            if isinstance(value, mutable) and guards.guarded_getattr(obj, name) is not value:
                continue  # a fresh object at each access (Pattern.groupindex): not shared
        except Exception:
            continue
        queue.append((f"{path}.{name}", value, depth + 1))
print(json.dumps(found))
"""


def test_no_shared_mutable_state_is_reachable_from_the_views() -> None:
    """Every attribute path (4 deep) from the views and builtins: no list/dict/set/module shared by runs."""
    done = subprocess.run(
        [sys.executable, "-I", "-c", _AUDIT, WORKER_PATH], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(done.stdout) == []


def test_corpus_size() -> None:
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)
