"""``automatos route eval`` and its metrics: a hand-checked set, the line checks, the installed command.

The command test runs the real CLI on a fresh embedded data directory: ``admin create --init``,
``seed``, ``route seed-agents`` (10 agents from the seeded personas), then ``route eval --json`` on
four lines, and ``route fit --json`` then ``eval`` again (the fitted values are used).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from automatos.kernel.errors import ValidationError
from automatos.routing.evaluation import NO_TIER, Labelled, Outcome, check_labels, load_jsonl, metrics
from tests.test_cli_keys import one_json_object, run


def test_metrics_on_a_hand_checked_set() -> None:
    outcomes = [
        Outcome(expected="a", predicted="a", tier="rules"),
        Outcome(expected="a", predicted="b", tier="semantic"),
        Outcome(expected="b", predicted="b", tier="semantic"),
        Outcome(expected="none", predicted="none", tier=NO_TIER),
        Outcome(expected="none", predicted="a", tier="semantic"),
        Outcome(expected="b", predicted="none", tier="examples"),  # orchestrate by the examples tier
    ]
    figures = metrics(outcomes)
    assert (figures["examples"], figures["correct"], figures["accuracy"]) == (6, 3, 0.5)
    assert figures["tiers"]["semantic"] == {"decided": 3, "correct": 1, "accuracy": 0.3333, "share": 0.5}
    assert figures["tiers"]["rules"]["accuracy"] == 1.0
    assert figures["tiers"][NO_TIER] == {"decided": 1, "correct": 1, "accuracy": 1.0, "share": 0.1667}
    # none: predicted twice (one right), expected twice (one found)
    assert figures["none"] == {"support": 2, "predicted": 2, "correct": 1, "precision": 0.5, "recall": 0.5}
    assert figures["labels"]["a"] == {"support": 2, "predicted": 2, "correct": 1, "recall": 0.5, "precision": 0.5}
    assert figures["labels"]["b"] == {"support": 2, "predicted": 2, "correct": 1, "recall": 0.5, "precision": 0.5}
    assert figures["agent_precision"] == 0.5  # 4 agent answers, 2 right
    assert figures["confusion"] == {"a": {"a": 1, "b": 1}, "b": {"b": 1, "none": 1}, "none": {"a": 1, "none": 1}}


def test_lines_are_checked_naming_the_line() -> None:
    lines = ['{"text": "hi", "expected": "none", "kind": "none-chitchat"}', "", '{"text":"x","expected":"a"}']
    good = load_jsonl(lines)
    assert good == [Labelled("hi", "none"), Labelled("x", "a")]
    with pytest.raises(ValidationError) as caught:
        load_jsonl(['{"text": "hi", "expected": "none"}', "{not json"])
    assert caught.value.field == "line 2"
    with pytest.raises(ValidationError) as caught:
        load_jsonl(['{"text": "hi", "expected": "none"}', '{"text": "", "expected": "a"}'])
    assert caught.value.field == "lines[1].text"
    with pytest.raises(ValidationError) as caught:
        check_labels([Labelled("x", "a"), Labelled("y", "ghost")], ["a"])
    assert caught.value.field == "examples[1].expected"
    with pytest.raises(ValidationError) as caught:
        load_jsonl([])
    assert caught.value.field == "lines"


LINES = [
    {"text": "our pods keep getting OOMKilled in the production cluster", "expected": "devops-sre"},
    {"text": "write a cold email to a prospect who has never heard of us", "expected": "sdr"},
    {"text": "what's a good recipe for banana bread?", "expected": "none"},
    {"text": "thanks!!", "expected": "none"},
]


async def test_the_command_prints_one_json_object(tmp_path: Path) -> None:
    made = await run("admin", "create", "--email", "eval@example.test", "--init", "--json", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert (await run("seed", "--json", cwd=tmp_path)).returncode == 0
    seeded = one_json_object(await run("route", "seed-agents", "--workspace", "default", "--json", cwd=tmp_path))
    assert len(seeded["created"]) == 10 and "devops-sre" in seeded["created"]
    again = one_json_object(await run("route", "seed-agents", "--workspace", "default", "--json", cwd=tmp_path))
    assert again == {"created": [], "skipped": seeded["created"]}
    data = tmp_path / "small.jsonl"
    data.write_text("\n".join(json.dumps(line) for line in LINES) + "\n", encoding="utf-8")

    figures = one_json_object(await run("route", "eval", str(data), "--workspace", "default", "--json", cwd=tmp_path))
    assert figures["examples"] == 4 and figures["without"] == ["llm"]
    assert sum(row["decided"] for row in figures["tiers"].values()) == 4
    assert sum(sum(row.values()) for row in figures["confusion"].values()) == 4
    assert figures["none"]["support"] == 2 and set(figures["labels"]) >= {"devops-sre", "sdr", "none"}

    fitted = one_json_object(await run("route", "fit", str(data), "--workspace", "default", "--json", cwd=tmp_path))
    assert fitted["examples"] == 4 and set(fitted["values"]) == {
        "examples_threshold",
        "examples_margin",
        "semantic_threshold",
        "semantic_margin",
    }
    after = one_json_object(await run("route", "eval", str(data), "--workspace", "default", "--json", cwd=tmp_path))
    assert after["examples"] == 4 and after["accuracy"] is not None

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "hello", "expected": "ghost-agent"}\n', encoding="utf-8")
    refused = await run("route", "eval", str(bad), "--workspace", "default", "--json", cwd=tmp_path)
    assert refused.returncode == 2 and "lines[0].expected" in refused.stderr and refused.stdout == ""
    missing = await run("route", "eval", str(tmp_path / "nope.jsonl"), "--workspace", "default", cwd=tmp_path)
    assert missing.returncode == 2 and "nope.jsonl" in missing.stderr
