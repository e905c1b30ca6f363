"""The idempotent seed (``automatos.agents.seed``) on SQLite and PostgreSQL, and ``automatos seed``.

Each database test gets a freshly migrated database of its own (a SQLite file, or a new database
on the session's PostgreSQL server), so the first seed always starts from empty tables.
"""

from __future__ import annotations

import asyncio
import string
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, event, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from automatos.agents import models as am
from automatos.agents import seed_data as sd
from automatos.agents.seed import FINGERPRINT_KEY, SeedReport, ensure_seeded, run_seed, seed_fingerprint
from automatos.chat import models as cm
from automatos.extensions.llm import offline
from automatos.kernel.db import Workspace, engine_from_url, make_sessionmaker, upgrade
from automatos.llm.models import LLMModel
from automatos.marketplace.models import PluginCategory
from automatos.tools.models import CredentialType
from tests.helpers import migrations
from tests.services import fresh_database
from tests.test_cli_keys import one_json_object, run

SEED_COUNTS = {
    "credential_types": len(sd.CREDENTIAL_TYPES),
    "platform_settings": len(sd.PLATFORM_SETTINGS),
    "llm_models": len(sd.LLM_MODELS),
    "personas": len(sd.PERSONAS),
    "plugin_categories": len(sd.PLUGIN_CATEGORIES),
    "prompts": len(sd.PROMPTS),
}
SEED_TOTAL = sum(SEED_COUNTS.values())

PERSONA_SLUGS = {
    "senior-engineer",
    "code-reviewer",
    "devops-sre",
    "sdr",
    "account-executive",
    "customer-success-manager",
    "content-strategist",
    "seo-specialist",
    "technical-support-engineer",
    "customer-advocate",
}
CATEGORY_SLUGS = {
    "code-review",
    "testing",
    "documentation",
    "deployment",
    "monitoring",
    "ci-cd",
    "seo",
    "content",
    "analytics",
    "outreach",
    "crm",
    "prospecting",
    "ticketing",
    "knowledge-base",
    "analysis",
    "visualization",
    "etl",
    "scanning",
    "compliance",
    "audit",
}

# (model, natural key of a row, primary key column)
FAMILIES: dict[str, tuple[Any, Any, str]] = {
    "credential_types": (CredentialType, lambda r: r.slug, "slug"),
    "platform_settings": (am.PlatformSetting, lambda r: r.key, "key"),
    "llm_models": (LLMModel, lambda r: (r.provider, r.model), "id"),
    "personas": (am.Persona, lambda r: (r.workspace_id, r.slug), "id"),
    "plugin_categories": (PluginCategory, lambda r: r.slug, "slug"),
    "prompts": (cm.Prompt, lambda r: r.slug, "slug"),
}


# --- Fixtures -----------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest) -> str:
    """``sqlite``, or the URL of the session's PostgreSQL server (started only when needed)."""
    return "sqlite" if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def db_url(server: str, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated, empty database of its own."""
    if server == "sqlite":
        url = f"sqlite+aiosqlite:///{(tmp_path / 'seed.db').as_posix()}"
        await upgrade(url, sources=migrations())
        yield url
        return
    async with fresh_database(server, "automatos_seed_") as url:
        await upgrade(url, sources=migrations())
        yield url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = engine_from_url(db_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


# --- Helpers ------------------------------------------------------------------------------------


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every SQL statement ``engine`` sends while the block runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement.strip())

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def writes(seen: list[str]) -> list[str]:
    return [s for s in seen if s.split(None, 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}]


async def snapshot(sm: async_sessionmaker[AsyncSession]) -> dict[str, dict[Any, tuple[Any, datetime]]]:
    """Per family: natural key -> (primary key, updated_at)."""
    result: dict[str, dict[Any, tuple[Any, datetime]]] = {}
    async with sm() as session:
        for family, (model, key, pk) in FAMILIES.items():
            rows = (await session.scalars(select(model))).all()
            result[family] = {key(r): (getattr(r, pk), r.updated_at) for r in rows}
            assert len(result[family]) == len(rows), f"duplicate natural keys in {family}"
    return result


def counts(report: SeedReport) -> dict[str, tuple[int, int, int]]:
    return {name: (c.created, c.updated, c.unchanged) for name, c in report.families().items()}


# --- The seed data itself -----------------------------------------------------------------------


def test_seed_data_is_complete_and_plausible() -> None:
    assert len(sd.CREDENTIAL_TYPES) >= 20 and len(sd.PLATFORM_SETTINGS) >= 15 and len(sd.LLM_MODELS) >= 50
    assert {p.slug for p in sd.PERSONAS} == PERSONA_SLUGS and len(sd.PERSONAS) == 10
    assert {c.slug for c in sd.PLUGIN_CATEGORIES} == CATEGORY_SLUGS and len(sd.PLUGIN_CATEGORIES) == 20
    assert sorted(c.position for c in sd.PLUGIN_CATEGORIES) == list(range(1, 21))
    for family, key in (
        (sd.CREDENTIAL_TYPES, lambda r: r.slug),
        (sd.PLATFORM_SETTINGS, lambda r: r.key),
        (sd.LLM_MODELS, lambda r: (r.provider, r.model)),
        (sd.PERSONAS, lambda r: r.slug),
        (sd.PLUGIN_CATEGORIES, lambda r: r.slug),
        (sd.PROMPTS, lambda r: r.slug),
    ):
        keys = [key(row) for row in family]
        assert len(keys) == len(set(keys)), keys
    settings = {s.key: s.value for s in sd.PLATFORM_SETTINGS}
    assert settings["chat.history_limit"] == 50 and settings["chat.max_message_chars"] == 32000
    assert settings["agents.default_temperature"] == 0.7 and settings["agents.default_max_tokens"] == 1024
    assert settings["prompts.cache_seconds"] == 60 and settings["usage.currency"] == "USD"
    assert settings["marketplace.review_risk_threshold"] == 20 and settings["marketplace.block_risk_threshold"] == 70
    assert settings["recipes.scratchpad_ttl_seconds"] == 3600 and settings["routing.decision_cache_hours"] == 24
    assert FINGERPRINT_KEY not in settings
    for credential in sd.CREDENTIAL_TYPES:
        assert credential.auth_type in {"api_key", "oauth2", "basic", "bearer", "connection_string"}
        assert credential.fields and any(f.secret for f in credential.fields), credential.slug
        assert credential.docs_url.startswith("https://"), credential.slug
    auth = {c.slug: c.auth_type for c in sd.CREDENTIAL_TYPES}
    assert auth["github"] == auth["slack"] == auth["google-workspace"] == auth["salesforce"] == "oauth2"
    assert auth["jira"] == auth["twilio"] == auth["smtp"] == "basic" and auth["postgres"] == "connection_string"


def test_models_are_priced_per_token_and_match_the_offline_provider() -> None:
    models = {(m.provider, m.model): m for m in sd.LLM_MODELS}
    for m in sd.LLM_MODELS:
        assert m.context_window > 0 and (m.max_output_tokens is None or m.max_output_tokens > 0), m.model
        assert 0 <= m.input_price < 1e-3 and 0 <= m.output_price < 1e-3, m.model  # per token, not per million
        assert m.kind in {"chat", "embedding"} and m.capabilities, m.model
        assert (m.kind == "embedding") == ("embeddings" in m.capabilities) == ("chat" not in m.capabilities)
    assert models["openai", "gpt-4o"].input_price == pytest.approx(2.5e-06)
    assert models["openai", "gpt-4o"].output_price == pytest.approx(1e-05)
    for name in ("gpt-4o-mini", "gpt-4.1", "o3-mini", "text-embedding-3-small", "text-embedding-ada-002"):
        assert ("openai", name) in models
    for name in ("claude-3-5-haiku-20241022", "claude-sonnet-4-20250514", "claude-opus-4-20250514"):
        assert ("anthropic", name) in models
    offline_rows = {m.model: m for m in sd.LLM_MODELS if m.provider == offline.NAME}
    assert set(offline_rows) == {*offline.MODELS, f"{offline.EMBEDDING_MODEL}-256"}
    assert offline.OfflineEmbeddingProvider().model in offline_rows
    assert all(m.input_price == m.output_price == 0 for m in offline_rows.values())


def test_personas_and_prompts() -> None:
    for persona in sd.PERSONAS:
        assert persona.name and persona.description and persona.traits
        assert persona.system_prompt.count(". ") >= 4, persona.slug  # several sentences
    prompts = {p.slug: p for p in sd.PROMPTS}
    assert set(prompts) == {"agent.base", "router.llm_classifier", "chat.title"}
    base = prompts["agent.base"].body
    fields = {field for _, field, _, _ in string.Formatter().parse(base) if field is not None}
    assert fields == sd.AGENT_BASE_PLACEHOLDERS == {"agent_name", "workspace_name"}
    filled = base.format(agent_name="Ada", workspace_name="Acme")
    assert "{" not in filled and "}" not in filled and "Ada" in filled and "Acme" in filled
    assert "JSON" in prompts["router.llm_classifier"].body


def test_fingerprint_is_stable() -> None:
    assert seed_fingerprint() == seed_fingerprint() and len(seed_fingerprint()) == 64


# --- Seeding a database -------------------------------------------------------------------------


async def test_first_seed_fills_and_second_changes_nothing(
    sessionmaker: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    first = await run_seed(sessionmaker)
    assert counts(first) == {name: (n, 0, 0) for name, n in SEED_COUNTS.items()}
    assert (first.total.created, first.total.updated, first.total.unchanged) == (SEED_TOTAL, 0, 0)
    async with sessionmaker() as session:
        for table, least in ((CredentialType, 20), (am.PlatformSetting, 15), (LLMModel, 50)):
            assert (await session.scalar(select(func.count()).select_from(table)) or 0) >= least, table
        personas = (await session.scalars(select(am.Persona.slug).where(am.Persona.workspace_id.is_(None)))).all()
        assert sorted(personas) == sorted(PERSONA_SLUGS)
        categories = (await session.scalars(select(PluginCategory.slug))).all()
        assert sorted(categories) == sorted(CATEGORY_SLUGS)
        for model in (await session.scalars(select(LLMModel))).all():
            assert model.input_price >= 0 and model.output_price >= 0 and model.context_window > 0, model.model
            assert model.status == "active"
        for persona in (await session.scalars(select(am.Persona))).all():
            assert persona.system_prompt.strip(), persona.slug
        settings = {s.key: s.value for s in (await session.scalars(select(am.PlatformSetting))).all()}
        assert settings["chat.history_limit"] == 50 and settings["agents.default_temperature"] == 0.7
        assert FINGERPRINT_KEY not in settings  # run_seed does not write the fingerprint
        github = await session.get(CredentialType, "github")
        assert github is not None and github.auth_type == "oauth2"
        assert {"name", "label", "secret", "required"} == set(github.fields[0])
        base = await session.get(cm.Prompt, "agent.base")
        assert base is not None and base.version == 1 and "{agent_name}" in base.body
    before = await snapshot(sessionmaker)
    with statements(engine) as seen:
        second = await run_seed(sessionmaker)
    assert writes(seen) == []
    assert counts(second) == {name: (0, 0, n) for name, n in SEED_COUNTS.items()}
    assert (second.total.created, second.total.updated, second.total.unchanged) == (0, 0, SEED_TOTAL)
    assert not second.changed
    assert await snapshot(sessionmaker) == before
    assert second.to_dict()["total"] == {"created": 0, "updated": 0, "unchanged": SEED_TOTAL}


async def test_hand_edits_are_put_back_by_natural_key(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await run_seed(sessionmaker)
    before = await snapshot(sessionmaker)
    async with sessionmaker.begin() as session:
        await session.execute(
            text(
                "UPDATE llm_models SET output_price = 1.5, capabilities = :caps "
                "WHERE provider = 'openai' AND model = 'gpt-4o'"
            ),
            {"caps": '["chat"]'},
        )
        await session.execute(
            update(am.Persona).where(am.Persona.workspace_id.is_(None), am.Persona.slug == "sdr").values(name="Bob")
        )
        await session.execute(update(CredentialType).where(CredentialType.slug == "jira").values(fields=[]))
        await session.execute(update(PluginCategory).where(PluginCategory.slug == "etl").values(position=99))
        await session.execute(delete(PluginCategory).where(PluginCategory.slug == "audit"))
    report = await run_seed(sessionmaker)
    assert counts(report)["llm_models"] == (0, 1, SEED_COUNTS["llm_models"] - 1)
    assert counts(report)["personas"] == (0, 1, 9)
    assert counts(report)["credential_types"] == (0, 1, SEED_COUNTS["credential_types"] - 1)
    assert counts(report)["plugin_categories"] == (1, 1, 18)
    after = await snapshot(sessionmaker)
    for family in FAMILIES:
        assert set(after[family]) == set(before[family]), family  # nothing lost, nothing duplicated
    gpt4o = ("openai", "gpt-4o")
    assert after["llm_models"][gpt4o][0] == before["llm_models"][gpt4o][0]  # same id
    assert after["llm_models"][gpt4o][1] > before["llm_models"][gpt4o][1]  # updated in place
    assert after["personas"][None, "sdr"][0] == before["personas"][None, "sdr"][0]
    assert after["plugin_categories"]["etl"][0] == "etl"
    untouched = ("openai", "gpt-4o-mini")
    assert after["llm_models"][untouched] == before["llm_models"][untouched]
    async with sessionmaker() as session:
        model = await session.scalar(select(LLMModel).where(LLMModel.provider == "openai", LLMModel.model == "gpt-4o"))
        assert model is not None and model.output_price == pytest.approx(1e-05)
        assert model.capabilities == ["chat", "streaming", "tools", "vision", "json"]
        persona = await session.scalar(select(am.Persona).where(am.Persona.slug == "sdr"))
        assert persona is not None and persona.name == "Sales Development Representative"
        jira = await session.get(CredentialType, "jira")
        assert jira is not None and [f["name"] for f in jira.fields] == ["site_url", "email", "api_token"]
        etl = await session.get(PluginCategory, "etl")
        assert etl is not None and etl.position == 17
        assert await session.get(PluginCategory, "audit") is not None
    again = await run_seed(sessionmaker)
    assert not again.changed


async def test_admin_tuned_values_and_bodies_are_kept(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await run_seed(sessionmaker)
    async with sessionmaker.begin() as session:
        setting = await session.get(am.PlatformSetting, "chat.history_limit")
        assert setting is not None
        setting.value = 10
        setting.description = "edited"
        prompt = await session.get(cm.Prompt, "chat.title")
        assert prompt is not None
        prompt.body = "Title it in three words."
        prompt.version = 2
        base = await session.get(cm.Prompt, "agent.base")
        assert base is not None
        base.body = "You are {agent_name}. Be brief."
        await session.execute(delete(am.PlatformSetting).where(am.PlatformSetting.key == "usage.currency"))
        session.add(am.PlatformSetting(key="custom.knob", value=[1, 2], description="an admin's own"))
        session.add(cm.Prompt(slug="custom.prompt", name="Mine", body="mine"))
    report = await run_seed(sessionmaker)
    assert counts(report)["platform_settings"] == (1, 1, SEED_COUNTS["platform_settings"] - 2)
    assert counts(report)["prompts"] == (0, 0, 3)
    async with sessionmaker() as session:
        setting = await session.get(am.PlatformSetting, "chat.history_limit")
        assert setting is not None and setting.value == 10  # the admin's value stays
        assert setting.description.startswith("How many earlier messages")  # the seed's description is back
        currency = await session.get(am.PlatformSetting, "usage.currency")
        assert currency is not None and currency.value == "USD"  # missing: inserted with the default
        prompt = await session.get(cm.Prompt, "chat.title")
        assert prompt is not None and prompt.body == "Title it in three words." and prompt.version == 2
        base = await session.get(cm.Prompt, "agent.base")
        assert base is not None and base.body == "You are {agent_name}. Be brief."
        knob = await session.get(am.PlatformSetting, "custom.knob")
        assert knob is not None and knob.value == [1, 2]  # rows not in the seed are never touched
        assert await session.get(cm.Prompt, "custom.prompt") is not None


async def test_workspace_personas_are_never_touched(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker.begin() as session:
        workspace = Workspace(slug="acme", name="Acme")
        session.add(workspace)
        await session.flush()
        own = am.Persona(workspace_id=workspace.id, slug="sdr", name="Acme's SDR", system_prompt="Sell anvils.")
        session.add(own)
    report = await run_seed(sessionmaker)  # the workspace's sdr must not count as the platform's
    assert counts(report)["personas"] == (10, 0, 0)
    again = await run_seed(sessionmaker)
    assert counts(again)["personas"] == (0, 0, 10)
    async with sessionmaker() as session:
        rows = (await session.scalars(select(am.Persona).where(am.Persona.slug == "sdr"))).all()
        assert len(rows) == 2
        mine = next(r for r in rows if r.workspace_id == workspace.id)
        platform = next(r for r in rows if r.workspace_id is None)
        assert mine.id == own.id and mine.name == "Acme's SDR" and mine.system_prompt == "Sell anvils."
        assert mine.updated_at == own.updated_at and mine.traits == []
        assert platform.name == "Sales Development Representative" and platform.id != own.id


async def test_concurrent_seeds_serialize(db_url: str) -> None:
    """Several processes starting at once: no error, no duplicate, every row created exactly once."""
    engines = [engine_from_url(db_url) for _ in range(3)]
    try:
        reports = await asyncio.gather(*(run_seed(make_sessionmaker(e)) for e in engines))
        assert sum(r.total.created for r in reports) == SEED_TOTAL
        assert all(r.total.updated == 0 for r in reports)
        results = await asyncio.gather(*(ensure_seeded(make_sessionmaker(e)) for e in engines))
        assert sum(r is not None for r in results) == 1  # the others found the fingerprint under the lock
        sm = make_sessionmaker(engines[0])
        snap = await snapshot(sm)  # asserts unique natural keys
        assert {family: len(rows) for family, rows in snap.items()} == {
            **SEED_COUNTS,
            "platform_settings": SEED_COUNTS["platform_settings"] + 1,  # the fingerprint
        }
    finally:
        for engine in engines:
            await engine.dispose()


async def test_ensure_seeded_is_one_select_when_up_to_date(
    sessionmaker: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    first = await ensure_seeded(sessionmaker)
    assert first is not None and first.total.created == SEED_TOTAL
    async with sessionmaker() as session:
        stored = await session.get(am.PlatformSetting, FINGERPRINT_KEY)
        assert stored is not None and stored.value == seed_fingerprint()
    with statements(engine) as seen:
        assert await ensure_seeded(sessionmaker) is None
    assert len([s for s in seen if s.upper().startswith("SELECT")]) == 1 and writes(seen) == []
    # A stale fingerprint (the seed data changed): seeded again, the fingerprint replaced.
    async with sessionmaker.begin() as session:
        await session.execute(
            update(am.PlatformSetting).where(am.PlatformSetting.key == FINGERPRINT_KEY).values(value="stale")
        )
        await session.execute(update(PluginCategory).where(PluginCategory.slug == "seo").values(name="x"))
    again = await ensure_seeded(sessionmaker)
    assert again is not None and (again.total.created, again.total.updated) == (0, 1)
    assert await ensure_seeded(sessionmaker) is None
    report = await run_seed(sessionmaker)  # the fingerprint row is not seed data
    assert counts(report)["platform_settings"] == (0, 0, SEED_COUNTS["platform_settings"])


# --- The command --------------------------------------------------------------------------------


async def test_cli_seed(tmp_path: Path) -> None:
    data = one_json_object(await run("seed", "--init", "--json", cwd=tmp_path))
    assert set(data) == {*SEED_COUNTS, "total"}
    assert {name: data[name]["created"] for name in SEED_COUNTS} == SEED_COUNTS
    assert data["total"] == {"created": SEED_TOTAL, "updated": 0, "unchanged": 0}
    again = one_json_object(await run("seed", "--json", cwd=tmp_path))
    assert again["total"] == {"created": 0, "updated": 0, "unchanged": SEED_TOTAL}
    human = await run("seed", cwd=tmp_path)
    assert human.returncode == 0, human.stderr
    lines = human.stdout.splitlines()
    assert lines[0].split() == ["family", "created", "updated", "unchanged"]
    assert lines[-1].split() == ["total", "0", "0", str(SEED_TOTAL)]
    assert {line.split()[0] for line in lines[1:-1]} == set(SEED_COUNTS)
