"""What the agents' API, the chat and the CLI share: validated model settings and agent lookup.

``ModelSettings`` is an agent's model configuration. Its bounds are checked by msgspec when it
arrives in a request body (422 naming the field, e.g. ``model_settings.temperature``) and again by
:func:`check_model_settings` against what this deployment can serve (a provider no extension
offers is refused at write time, not discovered at the first chat).
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from automatos.agents import models as am
from automatos.kernel.errors import NotFoundError, ValidationError
from automatos.llm.catalog import ProviderName

__all__ = [
    "ModelSettings",
    "check_model_settings",
    "find_agent",
    "get_agent",
    "model_settings_of",
]

ModelName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Temperature = Annotated[float, msgspec.Meta(ge=0.0, le=2.0)]
MaxTokens = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]


class ModelSettings(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Which provider and model an agent talks to, and how.

    Unset ``provider``/``model`` mean the deployment's defaults (``LLM_PROVIDER``/``LLM_MODEL``).
    """

    provider: ProviderName | None = None
    model: ModelName | None = None
    temperature: Temperature | None = None
    max_tokens: MaxTokens | None = None


def model_settings_of(agent: am.Agent) -> ModelSettings:
    """The stored settings as a struct (rows written by this code always convert)."""
    return msgspec.convert(agent.model_settings or {}, ModelSettings)


def check_model_settings(settings: ModelSettings, providers: set[str], *, field: str = "model_settings") -> None:
    """Refuse a provider this workspace cannot use (422 naming ``<field>.provider``)."""
    if settings.provider is not None and settings.provider not in providers:
        offered = ", ".join(sorted(providers)) or "none"
        raise ValidationError(
            f"no LLM provider named {settings.provider!r} is available here (available: {offered})",
            field=f"{field}.provider",
        )


async def find_agent(
    session: AsyncSession, workspace_id: str, ref: str, *, include_archived: bool = False
) -> am.Agent | None:
    """The workspace's agent whose id or slug is ``ref``; ``None`` when there is none."""
    query = select(am.Agent).where(am.Agent.workspace_id == workspace_id, or_(am.Agent.id == ref, am.Agent.slug == ref))
    if not include_archived:
        query = query.where(am.Agent.status != "archived")
    return (await session.execute(query.limit(1))).scalar_one_or_none()


async def get_agent(
    session: AsyncSession, workspace_id: str, ref: str, *, field: str = "agent", include_archived: bool = False
) -> am.Agent:
    """Like :func:`find_agent`, but 404 naming ``field`` when there is none."""
    agent = await find_agent(session, workspace_id, ref, include_archived=include_archived)
    if agent is None:
        raise NotFoundError(f"agent {ref!r} does not exist in this workspace", field=field)
    return agent
