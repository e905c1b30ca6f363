"""The model catalogue: which models the platform knows, their limits and prices, and price lookups.

Not tenant data: anyone signed in reads it; platform admins add, change and deprecate models
(deleting deprecates: usage history keeps naming the model). Every change is audited with
``workspace_id`` empty, naming the fields changed, never their values. A model the catalogue does
not list can still be used (catalogues lag behind providers); it is priced at zero.

Prices are read through an in-process TTL cache (60 s): an admin's change reaches usage accounting
within a minute; concurrent misses of one model share one query.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from automatos.kernel.db.queries import ReferenceCatalog, from_row, set_fields
from automatos.kernel.errors import ConflictError
from automatos.kernel.store import KernelStore
from automatos.kernel.ttl_cache import TTLCache
from automatos.kernel.validation import not_blank
from automatos.llm.models import LLMModel

__all__ = [
    "PRICES_TTL",
    "ModelCatalog",
    "ModelCreate",
    "ModelKind",
    "ModelRecord",
    "ModelStatus",
    "ModelUpdate",
    "ProviderName",
]

PRICES_TTL = 60.0

ProviderName = Annotated[str, msgspec.Meta(min_length=1, max_length=50, pattern=r"^[a-z0-9][a-z0-9_.-]*$")]
ModelStatus = Literal["active", "deprecated"]
ModelKind = Literal["chat", "embedding"]
DisplayName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Capabilities = Annotated[list[Annotated[str, msgspec.Meta(min_length=1, max_length=100)]], msgspec.Meta(max_length=100)]
Tokens = Annotated[int, msgspec.Meta(ge=1, le=100_000_000)]
Price = Annotated[float, msgspec.Meta(ge=0.0, le=1.0, description="US dollars per token.")]


class ModelCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    provider: ProviderName
    model: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    display_name: DisplayName
    kind: ModelKind = "chat"
    context_window: Tokens
    max_output_tokens: Tokens | None = None
    input_price: Price = 0.0
    output_price: Price = 0.0
    capabilities: Capabilities = []
    status: ModelStatus = "active"


class ModelUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``provider`` and ``model`` are the row's natural key and do not change."""

    display_name: DisplayName | UnsetType = UNSET
    kind: ModelKind | UnsetType = UNSET
    context_window: Tokens | UnsetType = UNSET
    max_output_tokens: Tokens | UnsetType | None = UNSET
    input_price: Price | UnsetType = UNSET
    output_price: Price | UnsetType = UNSET
    capabilities: Capabilities | UnsetType = UNSET
    status: ModelStatus | UnsetType = UNSET


class ModelRecord(msgspec.Struct, kw_only=True):
    id: str
    provider: str
    model: str
    display_name: str
    kind: str
    context_window: int
    max_output_tokens: int | None
    input_price: float
    output_price: float
    capabilities: list[str]
    status: str
    created_at: datetime
    updated_at: datetime


def _display_name(value: str) -> str:
    return not_blank(value, "display_name")


class ModelCatalog(ReferenceCatalog[ModelRecord]):
    """The ``llm_models`` rows of one database, and their prices through a TTL cache."""

    model = LLMModel
    record = ModelRecord
    order_by = (LLMModel.provider, LLMModel.model, LLMModel.id)
    missing = "model {key!r} is not in the catalog"
    field = "model_id"

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(sessionmaker)
        self._prices: TTLCache[tuple[str, str], tuple[float, float]] = TTLCache(PRICES_TTL, clock=clock)

    async def list_models(
        self,
        *,
        provider: str | None = None,
        kind: str | None = None,
        capability: str | None = None,
        status: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[list[ModelRecord], int]:
        """Models by provider and name; deprecated ones only when ``status`` asks."""
        where: list[Any] = [LLMModel.status == status if status else LLMModel.status != "deprecated"]
        if provider:
            where.append(LLMModel.provider == provider)
        if kind:
            where.append(LLMModel.kind == kind)
        if not capability:
            return await self.page(*where, offset=offset, limit=limit)
        # a JSON list: filtered here, the same on every database (the catalogue is small)
        query = select(LLMModel).where(*where).order_by(*self.order_by)
        async with self.sessionmaker() as session:
            matching = [r for r in await session.scalars(query) if capability in (r.capabilities or [])]
        return [from_row(r, ModelRecord) for r in matching[offset : offset + limit]], len(matching)

    async def get_model(self, model_id: str) -> ModelRecord:
        return await self.get(model_id)

    async def create_model(
        self, data: ModelCreate, *, actor_id: str | None, request_id: str | None = None
    ) -> ModelRecord:
        taken = ConflictError(f"model {data.model!r} of provider {data.provider!r} is already listed", field="model")
        try:
            async with self.sessionmaker.begin() as session:
                if await session.scalar(
                    select(LLMModel.id).where(LLMModel.provider == data.provider, LLMModel.model == data.model)
                ):
                    raise taken
                row = LLMModel(provider=data.provider, model=data.model, display_name=_display_name(data.display_name))
                set_fields(row, data, skip=("provider", "model", "display_name"))
                session.add(row)
                await session.flush()
                audit = {"provider": data.provider, "model": data.model}
                KernelStore._audit(session, None, actor_id, "llm_model.created", "llm_model", row.id, audit, request_id)
                return from_row(row, ModelRecord)
        except IntegrityError:
            raise taken from None

    async def update_model(
        self, model_id: str, data: ModelUpdate, *, actor_id: str | None, request_id: str | None = None
    ) -> ModelRecord:
        async with self.sessionmaker.begin() as session:
            row = await self.row(session, model_id)
            changed = set_fields(row, data, checks={"display_name": _display_name})
            await session.flush()
            KernelStore._audit(
                session, None, actor_id, "llm_model.updated", "llm_model", row.id, {"fields": changed}, request_id
            )
            return from_row(row, ModelRecord)

    async def deprecate_model(self, model_id: str, *, actor_id: str | None, request_id: str | None = None) -> None:
        async with self.sessionmaker.begin() as session:
            row = await self.row(session, model_id)
            if row.status == "deprecated":
                return
            row.status = "deprecated"
            KernelStore._audit(session, None, actor_id, "llm_model.deprecated", "llm_model", row.id, {}, request_id)

    # -- prices ------------------------------------------------------------------------------------

    async def price(self, provider: str, model: str) -> tuple[float, float]:
        """US dollars per input and per output token for ``model``; zeros when the catalogue lacks it.

        Opens a session of its own on a miss: call it before opening one, never inside.
        """

        async def load() -> tuple[float, float]:
            async with self.sessionmaker() as session:
                row = (
                    await session.execute(
                        select(LLMModel.input_price, LLMModel.output_price).where(
                            LLMModel.provider == provider, LLMModel.model == model
                        )
                    )
                ).first()
            return (float(row[0]), float(row[1])) if row is not None else (0.0, 0.0)

        return await self._prices.get((provider, model), load)

    def forget_prices(self) -> None:
        """Drop the cached prices (tests; an admin's change otherwise arrives within a minute)."""
        self._prices.drop()
