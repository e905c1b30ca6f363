"""The legitimate corpus: everyday Python a snippet may use, which the policy must let run unchanged.

Each snippet leaves its answer in ``result`` (and some print); the test checks the exact value. What
the policy refuses on purpose (``match``, ``nonlocal``, ``_`` names such as ``type(x).__name__`` or
``namedtuple._replace``, ``async``…) is listed, with the reason, in ``docs/sandbox.md``.
"""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from automatos.sandbox import Limits, WorkerPool

LIMITS = Limits(cpu_seconds=2, wall_seconds=10, memory_mb=128)


def snippet(id: str, code: str, expected: Any, *, stdout: str | None = None, inputs: Any = None) -> Any:
    return pytest.param(textwrap.dedent(code).strip() + "\n", expected, stdout, inputs, id=id)


SNIPPETS = [
    snippet(
        "comprehensions",
        """
        words = ['apple', 'bob', 'kayak', 'banana']
        result = [
            [w.upper() for w in words if len(w) > 3],
            {w: len(w) for w in words},
            sorted({len(w) for w in words}),
            sum(len(w) for w in words),
            [(i, j) for i in range(3) for j in range(i)],
        ]
        """,
        [
            ["APPLE", "KAYAK", "BANANA"],
            {"apple": 5, "bob": 3, "kayak": 5, "banana": 6},
            [3, 5, 6],
            19,
            [[1, 0], [2, 0], [2, 1]],
        ],
    ),
    snippet(
        "classes-init-methods-properties-inheritance-super",
        """
        class Shape:
            sides = 0
            def __init__(self, name):
                self.name = name
            def describe(self):
                return f'{self.name} with {self.sides} sides'
        class Rect(Shape):
            sides = 4
            def __init__(self, w, h):
                super().__init__('rect')
                self.w, self.h = w, h
            @property
            def area(self):
                return self.w * self.h
            @staticmethod
            def unit():
                return Rect(1, 1)
            @classmethod
            def square(cls, n):
                return cls(n, n)
            def describe(self):
                return super().describe() + f' and area {self.area}'
        r = Rect.square(3)
        result = [r.describe(), Rect.unit().area, isinstance(r, Shape), issubclass(Rect, Shape), Shape.sides]
        """,
        ["rect with 4 sides and area 9", 1, True, True, 0],
    ),
    snippet(
        "dataclass-like-value-object",
        """
        class Point:
            def __init__(self, x, y):
                self.x = x
                self.y = y
            def __repr__(self):
                return f'Point({self.x}, {self.y})'
            def __eq__(self, other):
                return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)
            def __hash__(self):
                return hash((self.x, self.y))
            def __add__(self, other):
                return Point(self.x + other.x, self.y + other.y)
            def __len__(self):
                return 2
            def __iter__(self):
                yield self.x
                yield self.y
        p = Point(1, 2) + Point(3, 4)
        x, y = p
        result = [repr(p), str(p), p == Point(4, 6), len({p, Point(4, 6)}), len(p), [x, y], list(p)]
        """,
        ["Point(4, 6)", "Point(4, 6)", True, 1, 2, [4, 6], [4, 6]],
    ),
    snippet(
        "class-attribute-writes-and-setattr",
        """
        class Config:
            pass
        Config.mode = 'fast'
        c = Config()
        setattr(c, 'level', 3)
        c.level += 1
        del c.level
        result = [Config.mode, c.mode, hasattr(c, 'level'), getattr(c, 'missing', 'default')]
        """,
        ["fast", "fast", False, "default"],
    ),
    snippet(
        "generators-and-yield-from",
        """
        def count(n):
            i = 0
            while i < n:
                yield i
                i += 1
        def chained():
            yield from count(3)
            yield from 'ab'
        def echo():
            got = yield 'ready'
            yield got * 2
        g = echo()
        first = next(g)
        result = [list(chained()), first, g.send(21), list(x * x for x in count(4))]
        """,
        [[0, 1, 2, "a", "b"], "ready", 42, [0, 1, 4, 9]],
    ),
    snippet(
        "fstrings-with-format-specs",
        """
        pi = 3.14159265
        n = 1234567
        name = 'ada'
        width = 8
        result = [f'{pi:.2f}', f'{n:,}', f'{name!r}', f'{name:>{width}}', f'{n=}', f'{0.25:.0%}', f'{255:#x}',
                  format(7, '03d'), '%s-%05.1f' % ('x', 2.5)]
        """,
        ["3.14", "1,234,567", "'ada'", "     ada", "n=1234567", "25%", "0xff", "007", "x-002.5"],
    ),
    snippet(
        "sorting-with-key-functions-and-lambda",
        """
        people = [('ann', 31), ('bob', 25), ('cy', 31), ('dee', 19)]
        by_age = sorted(people, key=lambda p: (-p[1], p[0]))
        people.sort(key=lambda p: p[0], reverse=True)
        result = [by_age, people[0], min(people, key=lambda p: p[1]), max(['a', 'ccc', 'bb'], key=len)]
        """,
        [[["ann", 31], ["cy", 31], ["bob", 25], ["dee", 19]], ["dee", 19], ["dee", 19], "ccc"],
    ),
    snippet(
        "json-round-trip",
        """
        import json
        data = {'b': [1, 2.5, None, True], 'a': {'nested': 'ü'}}
        text = json.dumps(data, sort_keys=True)
        back = json.loads(text)
        result = [text, back == data, json.dumps([1, 2], indent=None, separators=(',', ':'))]
        """,
        ['{"a": {"nested": "\\u00fc"}, "b": [1, 2.5, null, true]}', True, "[1,2]"],
    ),
    snippet(
        "regular-expressions",
        """
        import re
        text = 'Order 66 shipped on 2024-05-17, order 7 on 2024-06-01'
        dates = re.findall(r'(\\d{4})-(\\d{2})-(\\d{2})', text)
        m = re.search(r'order (?P<n>\\d+)', text, re.IGNORECASE)
        pattern = re.compile(r'\\s+')
        result = [dates[0], m.group('n'), m.groupdict(), pattern.split('a  b\\tc'),
                  re.sub(r'\\d+', lambda mm: str(int(mm.group()) * 2), 'a1b22'), bool(re.fullmatch('[a-z]+', 'abc'))]
        """,
        [["2024", "05", "17"], "66", {"n": "66"}, ["a", "b", "c"], "a2b44", True],
    ),
    snippet(
        "datetime-arithmetic-and-formatting",
        """
        import datetime
        d = datetime.date(2024, 2, 28) + datetime.timedelta(days=2)
        t = datetime.datetime(2024, 1, 1, 12, 30, tzinfo=datetime.timezone.utc)
        result = [d.isoformat(), d.strftime('%A %d %B'), t.isoformat(), (t + datetime.timedelta(hours=36)).day,
                  datetime.datetime.fromisoformat('2024-03-01T10:00:00').weekday(), d.year, t.tzinfo == datetime.UTC]
        """,
        ["2024-03-01", "Friday 01 March", "2024-01-01T12:30:00+00:00", 3, 4, 2024, True],
    ),
    snippet(
        "decimal-precision",
        """
        import decimal
        from decimal import Decimal
        a = Decimal('0.1') + Decimal('0.2')
        decimal.getcontext().prec = 6
        third = Decimal(1) / Decimal(3)
        with decimal.localcontext() as ctx:
            ctx.prec = 3
            short = Decimal(2).sqrt()
        rounded = Decimal('2.675').quantize(Decimal('0.01'), decimal.ROUND_HALF_UP)
        result = [str(a), str(third), str(short), str(rounded)]
        """,
        ["0.3", "0.333333", "1.41", "2.68"],
    ),
    snippet(
        "statistics",
        """
        import statistics
        data = [2, 4, 4, 4, 5, 5, 7, 9]
        result = [statistics.mean(data), statistics.median(data), statistics.mode(data), statistics.pstdev(data),
                  round(statistics.stdev(data), 4), statistics.quantiles([1, 2, 3, 4, 5], n=4)]
        """,
        [5, 4.5, 4, 2.0, 2.1381, [1.5, 3.0, 4.5]],
    ),
    snippet(
        "itertools",
        """
        import itertools
        result = [
            list(itertools.accumulate([1, 2, 3, 4])),
            list(itertools.chain('ab', [1])),
            [''.join(c) for c in itertools.combinations('abc', 2)],
            len(list(itertools.permutations(range(4), 2))),
            [[k, len(list(g))] for k, g in itertools.groupby('aaabcc')],
            list(itertools.islice(itertools.count(10, 5), 3)),
            list(itertools.product([0, 1], repeat=2)),
            list(itertools.zip_longest('ab', 'c', fillvalue='-')),
            list(itertools.pairwise([1, 2, 3])),
        ]
        """,
        [
            [1, 3, 6, 10],
            ["a", "b", 1],
            ["ab", "ac", "bc"],
            12,
            [["a", 3], ["b", 1], ["c", 2]],
            [10, 15, 20],
            [[0, 0], [0, 1], [1, 0], [1, 1]],
            [["a", "c"], ["b", "-"]],
            [[1, 2], [2, 3]],
        ],
    ),
    snippet(
        "functools-reduce-partial-lru-cache-wraps-total-ordering",
        """
        import functools
        @functools.lru_cache(maxsize=None)
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)
        def logged(func):
            @functools.wraps(func)
            def wrapper(*args):
                return ('logged', func(*args))
            return wrapper
        @logged
        def double(x):
            '''Doubles.'''
            return 2 * x
        @functools.total_ordering
        class Version:
            def __init__(self, n):
                self.n = n
            def __eq__(self, other):
                return self.n == other.n
            def __lt__(self, other):
                return self.n < other.n
        base2 = functools.partial(int, base=2)
        result = [functools.reduce(lambda a, b: a * b, range(1, 6)), base2('1010'), fib(60), double(4),
                  Version(2) >= Version(1), sorted([3, 1, 2], key=functools.cmp_to_key(lambda a, b: b - a))]
        """,
        [120, 10, 1548008755920, ["logged", 8], True, [3, 2, 1]],
    ),
    snippet(
        "collections",
        """
        import collections
        counts = collections.Counter('mississippi')
        groups = collections.defaultdict(list)
        for word in ['apple', 'avocado', 'banana']:
            groups[word[0]].append(word)
        Point = collections.namedtuple('Point', ['x', 'y'])
        p = Point(1, y=2)
        dq = collections.deque([1, 2, 3], maxlen=3)
        dq.append(4)
        dq.appendleft(0)
        od = collections.OrderedDict(a=1, b=2)
        od.move_to_end('a')
        chain = collections.ChainMap({'a': 1}, {'a': 2, 'b': 3})
        result = [counts.most_common(2), dict(groups), [p.x, p.y, p], list(dq), list(od), [chain['a'], chain['b']],
                  collections.UserDict({'k': 1})['k']]
        """,
        [
            [["i", 4], ["s", 4]],
            {"a": ["apple", "avocado"], "b": ["banana"]},
            [1, 2, [1, 2]],
            [0, 2, 3],
            ["b", "a"],
            [1, 3],
            1,
        ],
    ),
    snippet(
        "math",
        """
        import math
        result = [math.sqrt(16), math.floor(2.7), math.ceil(2.1), math.gcd(12, 18), round(math.pi, 5),
                  math.isclose(0.1 + 0.2, 0.3), math.factorial(10), math.comb(5, 2), math.hypot(3, 4), math.inf > 1e308]
        """,
        [4.0, 2, 3, 6, 3.14159, True, 3628800, 10, 5.0, True],
    ),
    snippet(
        "random-with-seed",
        """
        import random
        rng = random.Random(1234)
        a = [rng.randint(1, 100) for _ in range(5)]
        rng2 = random.Random(1234)
        b = [rng2.randint(1, 100) for _ in range(5)]
        items = list(range(10))
        rng.shuffle(items)
        result = [a == b, sorted(items) == list(range(10)), 0 <= random.random() < 1, rng.choice('xyz') in 'xyz']
        """,
        [True, True, True, True],
    ),
    snippet(
        "string-constants-and-template",
        """
        import string
        t = string.Template('Hello $name, you owe $$${amount}')
        result = [string.ascii_lowercase[:5], string.digits, string.capwords('hello big world'),
                  t.substitute(name='Ann', amount=5), t.safe_substitute(name='Bo')]
        """,
        ["abcde", "0123456789", "Hello Big World", "Hello Ann, you owe $5", "Hello Bo, you owe $${amount}"],
    ),
    snippet(
        "textwrap",
        """
        import textwrap
        text = 'The quick brown fox jumps over the lazy dog'
        result = [textwrap.wrap(text, width=15), textwrap.shorten(text, width=20), textwrap.dedent('  a\\n  b'),
                  textwrap.indent('x\\ny', '> '), textwrap.fill('a b c', width=3)]
        """,
        [["The quick brown", "fox jumps over", "the lazy dog"], "The quick [...]", "a\nb", "> x\n> y", "a b\nc"],
    ),
    snippet(
        "uuid",
        """
        import uuid
        u = uuid.uuid4()
        parsed = uuid.UUID(str(u))
        result = [parsed == u, u.version, len(u.hex), str(uuid.uuid5(uuid.NAMESPACE_DNS, 'example.com')),
                  str(uuid.UUID('12345678123456781234567812345678'))]
        """,
        [True, 4, 32, "cfbff0d1-9375-5685-968c-48ce8b15ae17", "12345678-1234-5678-1234-567812345678"],
    ),
    snippet(
        "hashlib",
        """
        import hashlib
        h = hashlib.sha256()
        h.update(b'x')
        result = [hashlib.sha256(b'x').hexdigest(), h.hexdigest() == hashlib.sha256(b'x').hexdigest(),
                  hashlib.md5('abc'.encode()).hexdigest(), hashlib.new('sha1', b'').hexdigest()[:8]]
        """,
        [
            "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881",
            True,
            "900150983cd24fb0d6963f7d28e17f72",
            "da39a3ee",
        ],
    ),
    snippet(
        "exceptions-raised-and-caught",
        """
        class AppError(Exception):
            def __init__(self, message, code):
                super().__init__(message)
                self.code = code
        class NotFound(AppError):
            pass
        events = []
        def lookup(d, key):
            try:
                return d[key]
            except KeyError as e:
                raise NotFound(f'missing {e}', 404) from e
            finally:
                events.append('looked up ' + key)
        try:
            lookup({}, 'a')
        except AppError as err:
            caught = [type(err) is NotFound, str(err), err.code, isinstance(err, Exception)]
        try:
            1 / 0
        except (ValueError, ZeroDivisionError) as err:
            kind = repr(err)
        else:
            kind = None
        try:
            int('x')
        except Exception:
            fallback = -1
        result = [caught, kind, fallback, events]
        """,
        [[True, "missing 'a'", 404, True], "ZeroDivisionError('division by zero')", -1, ["looked up a"]],
    ),
    snippet(
        "print-captured-into-stdout",
        """
        print('hello', 'world', sep=', ', end='!\\n')
        for i in range(3):
            print(i)
        result = printed
        """,
        "hello, world!\n0\n1\n2\n",
        stdout="hello, world!\n0\n1\n2\n",
    ),
    snippet(
        "unpacking-nested-and-starred",
        """
        a, *rest = [1, 2, 3, 4]
        (b, c), d = (5, 6), 7
        first, *middle, last = 'abcde'
        for i, (k, v) in enumerate({'x': 1, 'y': 2}.items()):
            pass
        head, (x, *tail) = 0, [1, 2, 3]
        merged = {**{'a': 1}, 'b': 2}
        result = [a, rest, b, c, d, first, middle, last, i, k, v, head, x, tail, merged, [*'ab', *[3]]]
        """,
        [1, [2, 3, 4], 5, 6, 7, "a", ["b", "c", "d"], "e", 1, "y", 2, 0, 1, [2, 3], {"a": 1, "b": 2}, ["a", "b", 3]],
    ),
    snippet(
        "augmented-assignment-on-attributes-and-items",
        """
        class Counter:
            def __init__(self):
                self.n = 0
                self.hist = {}
            def hit(self, key):
                self.n += 1
                self.hist[key] = self.hist.get(key, 0) + 1
                self.hist[key] *= 10
        c = Counter()
        for k in 'abca':
            c.hit(k)
        d = {'k': 1}
        d['k'] += 41
        grid = [[0, 0], [0, 0]]
        grid[1][0] -= 5
        names = ['x']
        alias = names
        alias += ['y']
        s = 'a'
        s += 'b'
        n = 2
        n **= 10
        result = [c.n, c.hist, d['k'], grid, names, s, n]
        """,
        [4, {"a": 110, "b": 10, "c": 10}, 42, [[0, 0], [-5, 0]], ["x", "y"], "ab", 1024],
    ),
    snippet(
        "inputs-used",
        """
        total = sum(item['price'] * item['qty'] for item in inputs['items'])
        result = {'customer': inputs['customer'].title(), 'total': round(total, 2), 'keys': sorted(inputs)}
        """,
        {"customer": "Ada Lovelace", "total": 13.5, "keys": ["customer", "items"]},
        inputs={"customer": "ada lovelace", "items": [{"price": 2.5, "qty": 3}, {"price": 6, "qty": 1}]},
    ),
    snippet(
        "recursion-of-modest-depth",
        """
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)
        def depth(n):
            return 0 if n == 0 else 1 + depth(n - 1)
        def flatten(x):
            return [y for item in x for y in flatten(item)] if isinstance(x, list) else [x]
        result = [fib(15), depth(100), flatten([1, [2, [3, [4]]], 5])]
        """,
        [610, 100, [1, 2, 3, 4, 5]],
    ),
    snippet(
        "while-loops-break-continue-else",
        """
        n, steps = 27, 0
        while n != 1:
            n = n // 2 if n % 2 == 0 else 3 * n + 1
            steps += 1
        found = None
        i = 0
        while i < 10:
            i += 1
            if i % 2:
                continue
            if i * i > 30:
                found = i
                break
        else:
            found = -1
        result = [steps, found]
        """,
        [111, 6],
    ),
    snippet(
        "global-statement",
        """
        counter = 0
        def bump(by=1):
            global counter
            counter += by
            return counter
        bump()
        bump(5)
        result = counter
        """,
        6,
    ),
    snippet(
        "builtins-min-max-sum-any-all-zip-enumerate-reversed-map-filter",
        """
        nums = [3, 1, 4, 1, 5, 9, 2, 6]
        result = [min(nums), max(nums), sum(nums), any(n > 8 for n in nums), all(n > 0 for n in nums),
                  list(zip('ab', nums)), list(enumerate('xy', start=1)), list(reversed(nums[:3])),
                  list(map(str, nums[:3])), list(filter(lambda n: n % 2 == 0, nums)), divmod(17, 5), abs(-3),
                  round(2.567, 1), pow(2, 10, 1000), len(range(0, 10, 3)), sorted(set(nums))[:3], bin(5), hex(255),
                  chr(65) + str(ord('a')), bool([]), int('42') + float('0.5'), isinstance(1.0, (int, float)),
                  callable(len), next(iter([7])), list(range(3)), tuple([1]), frozenset([1]) == {1}]
        """,
        [
            1,
            9,
            31,
            True,
            True,
            [["a", 3], ["b", 1]],
            [[1, "x"], [2, "y"]],
            [4, 1, 3],
            ["3", "1", "4"],
            [4, 2, 6],
            [3, 2],
            3,
            2.6,
            24,
            4,
            [1, 2, 3],
            "0b101",
            "0xff",
            "A97",
            False,
            42.5,
            True,
            True,
            7,
            [0, 1, 2],
            [1],
            True,
        ],
    ),
    snippet(
        "string-methods",
        """
        s = '  Hello, World  '
        result = [s.strip(), s.lower().strip(), s.upper().strip(), ','.join(['a', 'b', 'c']), 'a,b,,c'.split(','),
                  'a b  c'.split(), s.replace('World', 'There').strip(), 'abc'.startswith('ab'), 'abc'.endswith('bc'),
                  'hello'.find('l'), 'hello'.count('l'), 'x'.center(5, '*'), 'Title Case'.swapcase(), '42'.zfill(5),
                  'a-b-c'.rsplit('-', 1), 'ABC'.isupper(), '  x'.lstrip(), 'ab'.partition('a'), 'abc'[::-1]]
        """,
        [
            "Hello, World",
            "hello, world",
            "HELLO, WORLD",
            "a,b,c",
            ["a", "b", "", "c"],
            ["a", "b", "c"],
            "Hello, There",
            True,
            True,
            2,
            2,
            "**x**",
            "tITLE cASE",
            "00042",
            ["a-b", "c"],
            True,
            "x",
            ["", "a", "b"],
            "cba",
        ],
    ),
    snippet(
        "bytes-and-bytearray",
        """
        b = 'héllo'.encode('utf-8')
        ba = bytearray(b'abc')
        ba[0] = ord('A')
        ba.extend(b'!')
        result = [len(b), b.decode(), b.hex(), bytes([65, 66]).decode(), bytes(ba).decode(), b[:2] == b'h\\xc3',
                  bytes.fromhex('ff00')[0], list(b'ab')]
        """,
        [6, "héllo", "68c3a96c6c6f", "AB", "Abc!", True, 255, [97, 98]],
    ),
    snippet(
        "slicing-and-indexing",
        """
        xs = list(range(10))
        xs[2:4] = ['a', 'b']
        del xs[-1]
        m = [[1, 2, 3], [4, 5, 6]]
        result = [xs[::3], xs[-2:], 'python'[1:4], m[1][-1], [row[1] for row in m], xs[slice(1, 3)]]
        """,
        [[0, "b", 6], [7, 8], "yth", 6, [2, 5], [1, "a"]],
    ),
    snippet(
        "walrus-lambda-defaults-and-closures",
        """
        data = [1, 5, 12, 7]
        if (n := len(data)) > 3:
            big = [y for x in data if (y := x * 2) > 10]
        adders = [lambda x, i=i: x + i for i in range(3)]
        def make_counter():
            counts = {'n': 0}
            def step():
                counts['n'] += 1
                return counts['n']
            return step
        step = make_counter()
        step()
        result = [n, big, [f(10) for f in adders], step()]
        """,
        [4, [24, 14], [10, 11, 12], 2],
    ),
    snippet(
        "with-statement-on-library-context-manager",
        """
        import decimal
        with decimal.localcontext() as ctx:
            ctx.prec = 4
            x = decimal.Decimal(10) / 3
        result = str(x)
        """,
        "3.333",
    ),
    snippet(
        "isinstance-type-and-dispatch",
        """
        def describe(x):
            if isinstance(x, bool):
                return 'bool'
            if isinstance(x, int):
                return 'int'
            if isinstance(x, (list, tuple)):
                return 'seq'
            return type(x) is dict and 'dict' or 'other'
        result = [describe(v) for v in (True, 3, [1], (1,), {}, 'x')] + [type(3) is int, type('') == str]
        """,
        ["bool", "int", "seq", "seq", "dict", "other", True, True],
    ),
    snippet(
        "log-capability",
        """
        log.info('starting')
        log.warning({'n': 1})
        result = 'logged'
        """,
        "logged",
    ),
]


@pytest.mark.parametrize(("code", "expected", "stdout", "inputs"), SNIPPETS)
async def test_legitimate_snippet_runs(
    pool: WorkerPool, code: str, expected: Any, stdout: str | None, inputs: Any
) -> None:
    result = await pool.run(code, inputs, LIMITS)
    assert result.ok, result.error
    assert result.result == expected
    if stdout is not None:
        assert result.stdout == stdout


async def test_logs_are_returned(pool: WorkerPool) -> None:
    result = await pool.run("log.info('starting')\nlog.error({'n': 1})\n", limits=LIMITS)
    assert result.ok and result.logs == [
        {"level": "info", "message": "starting"},
        {"level": "error", "message": "{'n': 1}"},
    ]


async def test_output_and_logs_are_valid_text(pool: WorkerPool) -> None:
    """A lone surrogate printed or logged is replaced, never sent as-is (it would break the frame)."""
    result = await pool.run("print('a\\ud800b')\nlog.info('\\udc00')\nresult = 1\n", limits=LIMITS)
    assert result.ok and result.result == 1
    assert result.stdout == "a?b\n" and result.logs == [{"level": "info", "message": "?"}]


async def test_same_snippet_many_times_and_different_inputs(pool: WorkerPool) -> None:
    code = "import uuid\nresult = [inputs['n'] * 2, str(uuid.uuid4()) != str(uuid.uuid4())]\n"
    runs = [await pool.run(code, {"n": n}, LIMITS) for n in range(5)]
    assert [r.result for r in runs] == [[n * 2, True] for n in range(5)]


def test_corpus_size() -> None:
    assert len(SNIPPETS) >= 30
