"""The rules tier and the intent tier against a routing context of their own (no database): priority
order, each condition, whole words and phrases, other scripts, bounded regexes on both engines, the
compiled form kept per rules list; the intent tier's scores, threshold, margin and shortlist."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from automatos.extensions.routing import rules as rules_tier
from automatos.extensions.routing.intent import IntentTier, stem
from automatos.extensions.routing.rules import RulesTier
from automatos.kernel import patterns
from automatos.kernel.types import (
    AgentProfile,
    ChatMessage,
    Completion,
    RouteDecision,
    RoutingRequest,
    RoutingRule,
    Workspace,
)
from automatos.routing.normalize import normalize


class Context:
    """The part of a ``RoutingContext`` the two tiers read: the rules and the configuration."""

    def __init__(self, rules: Sequence[RoutingRule], config: Mapping[str, Any] | None = None) -> None:
        self.workspace = Workspace(id="w1", slug="w1", name="W1")
        self.config: Mapping[str, Any] = config or {}
        self.kv = None
        self.vectors = None
        self._rules = list(rules)
        self.reads = 0

    async def agents(self) -> Sequence[AgentProfile]:
        return []

    async def rules(self) -> Sequence[RoutingRule]:
        self.reads += 1
        return self._rules

    async def embed(self, texts: Sequence[str]) -> tuple[str, list[list[float]]]:
        raise AssertionError("these tiers never embed")

    async def complete(self, messages: Sequence[ChatMessage], *, max_tokens: int = 200) -> Completion:
        raise AssertionError("these tiers never ask an LLM")

    def now(self) -> float:
        return 0.0


def rule(rule_id: str, agent: str, priority: int = 0, **conditions: Any) -> RoutingRule:
    for key in ("keywords", "intent_keywords"):
        if key in conditions:
            conditions[key] = tuple(normalize(k) for k in conditions[key])
    return RoutingRule(id=rule_id, agent_id=agent, priority=priority, **conditions)


def request(text: str, **fields: Any) -> RoutingRequest:
    return RoutingRequest(workspace_id="w1", text=text, normalized=normalize(text), **fields)


async def decide(tier: Any, rules: Sequence[RoutingRule], text: str, **fields: Any) -> RouteDecision | None:
    config = fields.pop("config", None)
    answer = await tier.route(request(text, **fields), Context(rules, config))
    assert answer is None or isinstance(answer, RouteDecision)
    return answer


# --- rules tier ---------------------------------------------------------------------------------


async def test_highest_priority_first_and_the_reason_names_the_rule() -> None:
    rules = [
        rule("low", "billing", 1, keywords=("refund",)),
        rule("high", "support", 9, keywords=("refund", "broken")),
        rule("mid", "sales", 5, keywords=("price",)),
    ]
    got = await decide(RulesTier(), rules, "My order came broken, I want a refund!")
    assert got is not None and got.agent_id == "support" and got.tier == "rules" and got.confidence == 0.9
    assert "rule high" in got.reason and "priority 9" in got.reason
    assert got.route_type == "agent"
    cheaper = await decide(RulesTier(), rules, "What's the PRICE?")
    assert cheaper is not None and cheaper.agent_id == "sales"
    assert await decide(RulesTier(), rules, "hello there") is None
    assert await decide(RulesTier(), [], "refund") is None


async def test_keywords_are_whole_words_or_phrases_of_the_normalised_text() -> None:
    rules = [rule("r", "billing", keywords=("refund", "credit card", "don't"))]
    tier = RulesTier()
    assert (await decide(tier, rules, "REFUND please")) is not None
    assert (await decide(tier, rules, "refunded already")) is None  # not the word
    assert (await decide(tier, rules, "nonrefund")) is None
    assert (await decide(tier, rules, "my Credit-Card was charged")) is not None  # hyphen folds to a space
    assert (await decide(tier, rules, "credit carded")) is None
    assert (await decide(tier, rules, "I don\u2019t know")) is not None  # curly apostrophe, folded


async def test_unicode_keywords() -> None:
    rules = [
        rule("fr", "fr", keywords=("remboursement",)),
        rule("de", "de", keywords=("straße",)),
        rule("ru", "ru", keywords=("возврат",)),
        rule("zh", "zh", keywords=("退款",)),
        rule("cafe", "cafe", keywords=("café",)),
    ]
    tier = RulesTier()
    for text, agent in (
        ("Je veux un REMBOURSEMENT.", "fr"),
        ("Welche STRASSE?", "de"),  # casefold: ß → ss on both sides
        ("Нужен возврат денег", "ru"),
        ("我要退款\uff0c谢谢", "zh"),  # no spaces between words: found inside the text
        ("Un CAFÉ noir", "cafe"),
    ):
        got = await decide(tier, rules, text)
        assert got is not None and got.agent_id == agent, text
    assert await decide(tier, rules, "un cafés noir") is None


async def test_source_channel_and_regex_conditions_all_hold() -> None:
    rules = [
        rule("slack-ops", "ops", 5, source="slack:*", channel="Incidents", keywords=("down",)),
        rule("orders", "orders", 3, regex=r"(?i)\border\s*#?\d{5}\b"),
        rule("email", "support", 1, source="email:*"),
    ]
    tier = RulesTier()
    got = await decide(tier, rules, "the site is down", source="slack:T1", channel="incidents")
    assert got is not None and got.agent_id == "ops" and "source 'slack:*'" in got.reason
    wrong_channel = await decide(tier, rules, "the site is down", source="slack:T1", channel="random")
    assert wrong_channel is None
    no_source = await decide(tier, rules, "the site is down", channel="incidents")
    assert no_source is None
    order = await decide(tier, rules, "Where is ORDER #12345?", source="web")
    assert order is not None and order.agent_id == "orders" and "regex" in order.reason
    assert await decide(tier, rules, "order 1234", source="web") is None
    mail = await decide(tier, rules, "anything at all", source="EMAIL:inbox")
    assert mail is not None and mail.agent_id == "support"


async def test_intent_only_rules_never_decide_here() -> None:
    assert await decide(RulesTier(), [rule("i", "billing", intent_keywords=("invoice",))], "invoice") is None


@pytest.mark.parametrize("engine", ["re2", "re"])
async def test_regex_searches_only_the_first_characters(engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if engine == "re2" and patterns.re2 is None:
        pytest.skip("google-re2 is not installed")
    monkeypatch.setattr(patterns, "ENGINE", engine)
    rules = [rule("tail", "a", regex="needle")]
    text = "x" * 5000 + " needle"
    assert await decide(RulesTier(), rules, text) is None
    found = await decide(RulesTier(), rules, text, config={"tiers": {"rules": {"text_chars": 6000}}})
    assert found is not None and found.agent_id == "a"
    assert await decide(RulesTier(), rules, "a needle early") is not None


async def test_a_regex_the_engine_refuses_never_matches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(patterns, "ENGINE", "re")  # a rule stored under RE2, read where only re runs
    rules = [rule("nested", "a", 9, regex="^(a+)+$"), rule("ok", "b", 1, regex="a")]
    got = await decide(RulesTier(), rules, "a" * 30)
    assert got is not None and got.agent_id == "b"


async def test_confidence_comes_from_the_configuration() -> None:
    rules = [rule("r", "a", keywords=("x",))]
    got = await decide(RulesTier(), rules, "x", config={"tiers": {"rules": {"confidence": 0.8}}})
    assert got is not None and got.confidence == 0.8
    odd = await decide(RulesTier(), rules, "x", config={"tiers": {"rules": {"confidence": "high"}}})
    assert odd is not None and odd.confidence == rules_tier.DEFAULT_CONFIDENCE


async def test_compiled_once_per_rules_list() -> None:
    tier = RulesTier()
    rules = [rule("r", "a", regex="refund")]
    first = tier.compiled("w1", rules)
    assert tier.compiled("w1", rules) is first
    assert tier.compiled("w1", list(rules)) is not first  # a new list: the service re-read its rules
    assert tier.compiled("w2", rules) is not first


# --- intent tier --------------------------------------------------------------------------------


def test_stemming_lite() -> None:
    assert [stem(w) for w in ("Refunds", "policies", "address", "status", "bus", "invoice")] == [
        "refund",
        "policy",
        "address",
        "status",
        "bus",
        "invoice",
    ]


INTENTS = [
    rule("b1", "billing", intent_keywords=("invoice", "refund", "payment")),
    rule("b2", "billing", intent_keywords=("billing address",)),
    rule("s1", "support", intent_keywords=("error", "crash", "account")),
    rule("c1", "sales", intent_keywords=("pricing", "account")),
]


async def test_intent_chooses_the_agent_whose_keywords_the_message_has() -> None:
    got = await decide(IntentTier(), INTENTS, "Two INVOICES and a refund are missing")
    assert got is not None and got.agent_id == "billing" and got.tier == "intent"
    assert got.confidence == pytest.approx(2 / 3, abs=1e-3) and "'invoice'" in got.reason
    phrase = await decide(IntentTier(), INTENTS, "please change my billing address")
    assert phrase is not None and phrase.agent_id == "billing"


async def test_intent_passes_below_the_threshold_or_without_a_margin() -> None:
    # "account" belongs to two agents: half a point each, 0.33 < 0.5
    assert await decide(IntentTier(), INTENTS, "my account") is None
    # one keyword each: a tie, no margin
    assert await decide(IntentTier(), INTENTS, "error on my invoice") is None
    # crash + error (2) against invoice (1): 0.67 vs 0.5, under the default margin 0.2 ...
    assert await decide(IntentTier(), INTENTS, "crash error invoice") is None
    # ... over a margin of 0.1
    loose = {"tiers": {"intent": {"margin": 0.1}}}
    got = await decide(IntentTier(), INTENTS, "crash error invoice", config=loose)
    assert got is not None and got.agent_id == "support"
    strict = {"tiers": {"intent": {"threshold": 0.7}}}
    assert await decide(IntentTier(), INTENTS, "invoice and refund", config=strict) is None
    assert await decide(IntentTier(), INTENTS, "nothing relevant") is None


async def test_intent_respects_the_shortlist() -> None:
    assert await decide(IntentTier(), INTENTS, "refund", shortlist=("support", "sales")) is None
    got = await decide(IntentTier(), INTENTS, "refund for an error", shortlist=("support", "sales"))
    assert got is not None and got.agent_id == "support"
