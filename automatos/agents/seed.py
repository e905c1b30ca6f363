"""The idempotent seed: writes :mod:`automatos.agents.seed_data` into the database.

Decisions:
- **Natural keys.** Rows are found by ``credential_types.slug``, ``platform_settings.key``,
  ``llm_models (provider, model)``, ``personas.slug WHERE workspace_id IS NULL``,
  ``plugin_categories.slug`` and ``prompts.slug``, never by id. A missing row is inserted; a row
  whose seeded columns differ from the seed is updated in place (same primary key, so references
  such as ``agents.persona_id`` stay valid); a row equal to the seed is not written at all (no
  ``UPDATE``, so ``updated_at`` keeps its value). Running the seed twice changes nothing.
- **What the admins own.** ``platform_settings.value`` and ``prompts.body`` are product knobs the
  platform admins tune: the seed only inserts them when the row is missing and never overwrites
  them (their ``description``, and a prompt's ``name``, are the seed's and are refreshed; a
  prompt's ``version`` counts body edits and is not touched). Likewise ``status`` of models and
  personas is not a seeded column: an admin who retires a model keeps it retired.
- **What is never touched.** Workspace-owned personas (``workspace_id IS NOT NULL``), even one
  with a seeded slug, and rows that are not in the seed: nothing is ever deleted.
- **One transaction, serialized.** Every family is written in one transaction that first takes a
  lock, as :mod:`automatos.kernel.db.migrate` does: a transaction-scoped advisory lock on
  PostgreSQL (its own key, not the migrations'), ``BEGIN IMMEDIATE`` (the write lock) on SQLite.
  Several processes starting at once therefore seed one after the other; the later ones find
  every row in place and write nothing.
- **Tables by name, like a migration.** The seed fills tables of several packages (``tools/``,
  ``llm/``, ``marketplace/``, ``chat/`` and this one). Like an Alembic revision it names them and
  their seeded columns itself (SQLAlchemy ``table()``/``column()``), rather than importing the
  packages that map them: it is data for the schema the migrations made, and this package may not
  import ``tools/``, ``marketplace/`` or ``chat/`` (docs/architecture.md).
- **Start-up path.** :func:`ensure_seeded` compares :func:`seed_fingerprint` (sha256 of the seed
  data as canonical JSON) with the one stored under ``platform_settings['seed.fingerprint']``: a
  match costs one ``SELECT`` and writes nothing. Otherwise it seeds and stores the new fingerprint
  in the same transaction (checking again under the lock, so of several processes only the first
  seeds). A row edited by hand is therefore only put back when the seed data changes or when
  ``automatos seed`` (:func:`run_seed`, which always compares every row) runs.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import msgspec
from sqlalchemy import TableClause, column, insert, select, table, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from automatos.agents import models as am
from automatos.agents import seed_data as sd
from automatos.kernel.db.base import JSONType, UTCDateTime, new_id, utcnow

__all__ = [
    "FINGERPRINT_KEY",
    "FamilyCounts",
    "SeedReport",
    "ensure_seeded",
    "run_seed",
    "seed_fingerprint",
]

log = logging.getLogger(__name__)

FINGERPRINT_KEY = "seed.fingerprint"
"""The ``platform_settings`` key holding the fingerprint of the seed last applied."""

_PG_LOCK_KEY = 0x6175746F7365  # "autose": any constant shared by every node; not the migrations' key
_FORMAT = 1  # bump when the rules of applying the seed change, so databases are seeded again

S = TypeVar("S", bound=msgspec.Struct)


class FamilyCounts(msgspec.Struct, kw_only=True):
    """What the seed did to one family of rows."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


class SeedReport(msgspec.Struct, kw_only=True):
    """Per-family counts and their total; ``msgspec.to_builtins(report)`` or :meth:`to_dict` encode it."""

    FAMILIES: ClassVar[tuple[str, ...]] = (
        "credential_types",
        "platform_settings",
        "llm_models",
        "personas",
        "plugin_categories",
        "prompts",
    )

    credential_types: FamilyCounts
    platform_settings: FamilyCounts
    llm_models: FamilyCounts
    personas: FamilyCounts
    plugin_categories: FamilyCounts
    prompts: FamilyCounts
    total: FamilyCounts

    @classmethod
    def of(cls, families: Mapping[str, FamilyCounts]) -> SeedReport:
        """A report of ``families`` (every name of :attr:`FAMILIES`) with their total."""
        counts = [families[name] for name in cls.FAMILIES]
        total = FamilyCounts(
            created=sum(c.created for c in counts),
            updated=sum(c.updated for c in counts),
            unchanged=sum(c.unchanged for c in counts),
        )
        return cls(**{name: families[name] for name in cls.FAMILIES}, total=total)

    def families(self) -> dict[str, FamilyCounts]:
        """The counts of each family, in :attr:`FAMILIES` order (without the total)."""
        return {name: getattr(self, name) for name in self.FAMILIES}

    @property
    def changed(self) -> bool:
        """Whether anything was inserted or updated."""
        return bool(self.total.created or self.total.updated)

    def to_dict(self) -> dict[str, dict[str, int]]:
        result: dict[str, dict[str, int]] = msgspec.to_builtins(self)
        return result


# --- Fingerprint --------------------------------------------------------------------------------


def _seed_document() -> dict[str, Any]:
    return {
        "format": _FORMAT,
        "credential_types": sd.CREDENTIAL_TYPES,
        "platform_settings": sd.PLATFORM_SETTINGS,
        "llm_models": sd.LLM_MODELS,
        "personas": sd.PERSONAS,
        "plugin_categories": sd.PLUGIN_CATEGORIES,
        "prompts": sd.PROMPTS,
    }


def seed_fingerprint() -> str:
    """sha256 (hex) of the seed data as canonical JSON (sorted keys, no spaces, UTF-8)."""
    canonical = json.dumps(
        msgspec.to_builtins(_seed_document()), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- Applying -----------------------------------------------------------------------------------


async def _lock(session: AsyncSession) -> None:
    """Serialize seeders: advisory transaction lock on PostgreSQL, the write lock on SQLite."""
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    elif connection.dialect.name == "sqlite":
        await connection.exec_driver_sql("BEGIN IMMEDIATE")


def _stamp() -> dict[str, Any]:
    now = utcnow()
    return {"created_at": now, "updated_at": now}


def _table(name: str, *columns: str, json: tuple[str, ...] = ()) -> TableClause:
    """The seeded columns of table ``name`` (and its timestamps), as a migration would name them."""
    typed = [column(c, JSONType) if c in json else column(c) for c in columns]
    return table(name, *typed, column("created_at", UTCDateTime()), column("updated_at", UTCDateTime()))


_CREDENTIAL_TYPES = _table(
    "credential_types", "slug", "name", "category", "auth_type", "fields", "docs_url", json=("fields",)
)
_PLATFORM_SETTINGS = _table("platform_settings", "key", "value", "description", json=("value",))
_LLM_MODELS = _table(
    "llm_models",
    "id",
    "provider",
    "model",
    "display_name",
    "kind",
    "context_window",
    "max_output_tokens",
    "input_price",
    "output_price",
    "capabilities",
    json=("capabilities",),
)
_PERSONAS = _table(
    "personas", "id", "workspace_id", "slug", "name", "description", "system_prompt", "traits", json=("traits",)
)
_PLUGIN_CATEGORIES = _table("plugin_categories", "slug", "name", "description", "position")
_PROMPTS = _table("prompts", "slug", "name", "description", "body")


@dataclass(frozen=True)
class _Family(Generic[S]):
    """One family of seeded rows: where they live, how they are found, which columns the seed owns."""

    name: str
    table: TableClause
    key: tuple[str, ...]
    """The natural key's columns."""
    seeds: Sequence[S]
    owned: Callable[[S], dict[str, Any]]
    """The columns the seed keeps in line with its data."""
    first: Callable[[S], dict[str, Any]]
    """The natural key and the values written only when the row is inserted (the admins' afterwards)."""
    pk: str = "id"
    where: Any = None
    """Which existing rows are the family's (``None``: all of them)."""

    async def upsert(self, session: AsyncSession) -> FamilyCounts:
        """Insert the missing seeds, refresh the differing rows; the counts."""
        c = self.table.c
        owned = list(self.owned(self.seeds[0])) if self.seeds else []
        query = select(*(c[name] for name in dict.fromkeys([self.pk, *self.key, *owned])))
        if self.where is not None:
            query = query.where(self.where)
        rows = {tuple(row[k] for k in self.key): row for row in (await session.execute(query)).mappings()}
        counts = FamilyCounts()
        missing: list[dict[str, Any]] = []
        for seed in self.seeds:
            values = self.owned(seed)
            row = rows.get(tuple(self.first(seed)[k] for k in self.key))
            if row is None:
                fresh = {**self.first(seed), **values, **_stamp()}
                if self.pk == "id":
                    fresh["id"] = new_id()
                missing.append(fresh)
                counts.created += 1
                continue
            changed = {column: value for column, value in values.items() if row[column] != value}
            if not changed:
                counts.unchanged += 1
                continue
            await session.execute(
                update(self.table).where(c[self.pk] == row[self.pk]).values(**changed, updated_at=utcnow())
            )
            counts.updated += 1
        if missing:
            await session.execute(insert(self.table), missing)
        return counts


def _plain(value: Any) -> Any:
    """``value`` as the JSON column gives it back (lists, dicts, str, numbers, bools, None)."""
    return msgspec.json.decode(msgspec.json.encode(value))


def _credential_type(seed: sd.CredentialTypeSeed) -> dict[str, Any]:
    return {
        "name": seed.name,
        "category": seed.category,
        "auth_type": seed.auth_type,
        "fields": _plain(seed.fields),
        "docs_url": seed.docs_url,
    }


def _llm_model(seed: sd.LLMModelSeed) -> dict[str, Any]:
    return {
        "display_name": seed.display_name,
        "kind": seed.kind,
        "context_window": seed.context_window,
        "max_output_tokens": seed.max_output_tokens,
        "input_price": seed.input_price,
        "output_price": seed.output_price,
        "capabilities": _plain(seed.capabilities),
    }


def _persona(seed: sd.PersonaSeed) -> dict[str, Any]:
    return {
        "name": seed.name,
        "description": seed.description,
        "system_prompt": seed.system_prompt,
        "traits": _plain(seed.traits),
    }


def _category(seed: sd.PluginCategorySeed) -> dict[str, Any]:
    return {"name": seed.name, "description": seed.description, "position": seed.position}


def _families() -> tuple[_Family[Any], ...]:
    """Every family, in :attr:`SeedReport.FAMILIES` order."""
    return (
        _Family(
            "credential_types",
            _CREDENTIAL_TYPES,
            ("slug",),
            sd.CREDENTIAL_TYPES,
            _credential_type,
            lambda seed: {"slug": seed.slug},
            pk="slug",
        ),
        _Family(
            "platform_settings",
            _PLATFORM_SETTINGS,
            ("key",),
            sd.PLATFORM_SETTINGS,
            lambda seed: {"description": seed.description},  # the value is the admins'
            lambda seed: {"key": seed.key, "value": _plain(seed.value)},
            pk="key",
            where=_PLATFORM_SETTINGS.c.key != FINGERPRINT_KEY,
        ),
        _Family(
            "llm_models",
            _LLM_MODELS,
            ("provider", "model"),
            sd.LLM_MODELS,
            _llm_model,
            lambda seed: {"provider": seed.provider, "model": seed.model},
        ),
        _Family(
            "personas",
            _PERSONAS,
            ("slug",),
            sd.PERSONAS,
            _persona,
            lambda seed: {"workspace_id": None, "slug": seed.slug},
            where=_PERSONAS.c.workspace_id.is_(None),
        ),
        _Family(
            "plugin_categories",
            _PLUGIN_CATEGORIES,
            ("slug",),
            sd.PLUGIN_CATEGORIES,
            _category,
            lambda seed: {"slug": seed.slug},
            pk="slug",
        ),
        _Family(
            "prompts",
            _PROMPTS,
            ("slug",),
            sd.PROMPTS,
            lambda seed: {"name": seed.name, "description": seed.description},  # the body is the admins'
            lambda seed: {"slug": seed.slug, "body": seed.body},
            pk="slug",
        ),
    )


async def _apply(session: AsyncSession) -> SeedReport:
    """Write the seed in the session's (locked) transaction; the caller commits."""
    families = {family.name: await family.upsert(session) for family in _families()}
    report = SeedReport.of(families)
    if report.changed:
        log.info("seed: %d rows created, %d updated", report.total.created, report.total.updated)
    return report


async def run_seed(sessionmaker: async_sessionmaker[AsyncSession]) -> SeedReport:
    """Bring every seeded row in line with :mod:`automatos.agents.seed_data`, in one locked transaction.

    Compares every row, whatever the stored fingerprint says (the fingerprint is not written: see
    :func:`ensure_seeded`). Idempotent: a second run reports every row unchanged and writes nothing.
    """
    async with sessionmaker() as session, session.begin():
        await _lock(session)
        return await _apply(session)


async def ensure_seeded(sessionmaker: async_sessionmaker[AsyncSession]) -> SeedReport | None:
    """Seed unless the stored fingerprint says this seed was applied already (the start-up path).

    ``None`` when nothing had to be done: after one ``SELECT`` when the fingerprint matches, or
    after the lock when another process seeded meanwhile. Otherwise the report of the seed, with
    the fingerprint stored in the same transaction.
    """
    fingerprint = seed_fingerprint()
    async with sessionmaker() as session:
        stored = await session.scalar(select(am.PlatformSetting.value).where(am.PlatformSetting.key == FINGERPRINT_KEY))
    if stored == fingerprint:
        return None
    async with sessionmaker() as session, session.begin():
        await _lock(session)
        row = await session.get(am.PlatformSetting, FINGERPRINT_KEY)
        if row is not None and row.value == fingerprint:
            return None
        report = await _apply(session)
        if row is None:
            description = "sha256 of the seed data last applied at start-up (written by the seed; do not edit)."
            session.add(am.PlatformSetting(key=FINGERPRINT_KEY, value=fingerprint, description=description))
        else:
            row.value = fingerprint
    return report
