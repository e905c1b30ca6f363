"""The rules tier with 1,000 rules, and the intent tier over the same rules: µs per route.

``RulesTier.route`` and ``IntentTier.route`` (``automatos/extensions/routing/``) against a routing
context that answers the same list of 1,000 rules every time (as ``RulesService.rules_for`` does
from its cache), so the tiers' compiled forms are warm: what every message costs once the rules are
loaded. The rules are a realistic mix, highest priority first: 600 with keywords (one to five, some
phrases), 200 with a regex (RE2 syntax: order numbers, e-mail-ish, alternations), 100 with a source
glob and keywords, 100 with a channel and keywords; each also has intent keywords.

Messages (each row's median over all of them, interleaved round by round, order reversed every
other round): five ordinary ones that no rule takes (the worst case: every rule is checked), one
the lowest-priority keyword rule takes, one a regex rule takes, and a 4,000-character one. Rows:
the rules tier with RE2 (the engine shipped when ``google-re2`` is installed) and with Python's
``re`` fallback; the intent tier. Also the one-off cost of compiling the 1,000 rules.
Goal (issue 13): rules tier median < 1 ms.

Run: .venv/bin/python bench/routing_rules.py [--rounds 5] [--rules 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Mapping, Sequence
from typing import Any

from common import fmt, header, median, quiet, table, verdict

from automatos.extensions.routing.intent import IntentTier
from automatos.extensions.routing.rules import RulesTier
from automatos.kernel import patterns
from automatos.kernel.types import RoutingRequest, RoutingRule, Workspace
from automatos.routing.normalize import normalize

WORDS = (
    "invoice refund billing payment charge subscription plan upgrade downgrade cancel account password login "
    "error crash bug deploy pipeline server database backup restore outage latency timeout api key token "
    "webhook export import report dashboard chart metric alert email newsletter campaign seo keyword "
    "ranking blog article draft review contract lead prospect demo trial pricing quote discount renewal "
    "onboarding training ticket escalation feedback survey churn retention advocate referral"
).split()
MESSAGES = [
    "Hi, can somebody tell me why the page takes forever to show up this morning?",
    "We would like to understand what happens to our data when we stop using the product next year",
    "I keep getting kicked out after a few minutes and have to start over again, very annoying",
    "Could you put together something for the team meeting on Thursday about last quarter",
    "What's the weather going to be like for the offsite, anyone know?",
]


def make_rules(count: int, seed: int = 7) -> list[RoutingRule]:
    rng = random.Random(seed)
    rules: list[RoutingRule] = []
    for i in range(count):
        kind = i % 10
        words = rng.sample(WORDS, 5)
        keywords = tuple(f"{w}{i}" for w in words[: rng.randint(1, 5)])  # unique per rule: few accidental hits
        if i % 7 == 0:
            keywords = (*keywords, f"{words[0]}{i} {words[1]}{i}")  # a phrase
        intent = tuple(f"{w}s" for w in words[:3])
        common: dict[str, Any] = {"id": f"rule-{i}", "agent_id": f"agent-{i % 50}", "priority": count - i}
        if kind < 6:
            rules.append(RoutingRule(**common, keywords=keywords, intent_keywords=intent))
        elif kind < 8:
            regex = rng.choice(
                [
                    rf"(?i)\b(order|invoice)\s*#?{i:04d}\d{{2}}\b",
                    rf"(?i)\b[a-z0-9._%+-]+@tenant{i}\.example\b",
                    rf"(?i)\b(ticket|case)[ -]?{i}-\d+\b",
                ]
            )
            rules.append(RoutingRule(**common, regex=regex, intent_keywords=intent))
        elif kind == 8:
            rules.append(RoutingRule(**common, source=f"slack:T{i}*", keywords=keywords, intent_keywords=intent))
        else:
            rules.append(RoutingRule(**common, channel=f"channel-{i}", keywords=keywords, intent_keywords=intent))
    return rules


class Context:
    def __init__(self, rules: Sequence[RoutingRule]) -> None:
        self.workspace = Workspace(id="w", slug="w", name="W")
        self.config: Mapping[str, Any] = {}
        self.kv = None
        self.vectors = None
        self._rules = list(rules)

    async def rules(self) -> Sequence[RoutingRule]:
        return self._rules


def messages(rules: Sequence[RoutingRule]) -> list[tuple[str, RoutingRequest]]:
    last_keyword = next(r for r in reversed(rules) if r.keywords and not r.source and not r.channel)
    regex_rule = next(r for r in reversed(rules) if r.regex and "order" in r.regex)
    number = int(regex_rule.id.split("-")[1])
    texts = [
        *(("no rule (worst case)", m) for m in MESSAGES),
        ("lowest-priority keyword", f"please help with {last_keyword.keywords[0]} today"),
        ("a regex rule", f"where is order #{number:04d}12 please"),
        ("4,000 characters, no rule", ("lorem ipsum dolor sit amet " * 200)[:4000]),
    ]
    return [(label, RoutingRequest(workspace_id="w", text=t, normalized=normalize(t))) for label, t in texts]


async def time_route(tier: Any, context: Context, request: RoutingRequest, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter_ns()
        await tier.route(request, context)
        out.append((time.perf_counter_ns() - start) / 1000)
    return out


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    quiet()
    header(f"routing rules tier: {args.rules} rules, µs per route")
    rules = make_rules(args.rules)
    context = Context(rules)
    requests = messages(rules)
    engines = ["re2", "re"] if patterns.re2 is not None else ["re"]
    compile_ms: dict[str, float] = {}
    tiers: dict[str, Any] = {}
    for engine in engines:
        patterns.ENGINE = engine
        patterns._compile.cache_clear()
        tier = RulesTier()
        start = time.perf_counter()
        tier.compiled("w", context._rules)
        compile_ms[engine] = (time.perf_counter() - start) * 1000
        tiers[f"rules ({engine})"] = (tier, engine)
    tiers["intent"] = (IntentTier(), engines[0])
    samples: dict[tuple[str, str], list[float]] = {}
    decided: dict[tuple[str, str], str] = {}
    for round_ in range(args.rounds):
        order = list(tiers.items())
        if round_ % 2:
            order.reverse()
        for name, (tier, engine) in order:
            patterns.ENGINE = engine
            for label, request in requests:
                samples.setdefault((name, label), []).extend(await time_route(tier, context, request, args.repeat))
                answer = await tier.route(request, context)
                decided[(name, label)] = answer.agent_id if answer is not None and answer.agent_id else "-"
    rows = []
    for (name, label), values in samples.items():
        rows.append((name, label, decided[(name, label)], fmt(median(values), 1)))
    table(("tier", "message", "decided", "median µs"), rows)
    worst = {name: median([v for (n, _), vs in samples.items() if n == name for v in vs]) for name in tiers}
    for engine in engines:
        print(f"compiling {args.rules} rules once ({engine}): {fmt(compile_ms[engine], 1)} ms")
    main_row = f"rules ({engines[0]})"
    met = verdict(worst[main_row] < 1000)
    print(f"{main_row}, all messages: median {fmt(worst[main_row], 1)} µs — goal < 1,000 µs: {met}")
    for name in tiers:
        if name != main_row:
            print(f"{name}, all messages: median {fmt(worst[name], 1)} µs")


if __name__ == "__main__":
    asyncio.run(main())
