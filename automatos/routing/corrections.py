"""Routing corrections: a member says which agent should have answered a message
(``POST /api/routing/corrections``); two that agree teach the router.

- A correction is ``{message, source?, agent (id or slug), decision_id?}``. The message is checked
  like a route's (empty or longer than ``ROUTING_MAX_MESSAGE_CHARS``: 422 naming ``message``) and
  normalised (:func:`automatos.routing.normalize.normalize`); ``agent`` must be an active agent of
  the workspace (422 naming ``agent``); ``decision_id``, when given, a decision of this workspace on
  the same normalised text (422 naming ``decision_id``).
- **Agreement**: when the workspace holds two or more corrections (by one member or several) of the
  same normalised text and source to the same agent, the decision cache is rewritten for that
  message with confidence 1.0, tier ``correction`` (through the tiers that remember decisions — the
  cache tier's ``remember`` — in the workspace's own view; skipped when the KV cache is down), and
  the pair becomes a **labelled example** (:meth:`CorrectionsService.examples`, what calibration fits
  on; ``GET /api/routing/examples``).
- **Privacy**: a correction keeps the *normalised* text, not only its sha256 — a labelled example
  needs the words. It is the workspace's own row (deleted with the workspace), read only by workspace
  admins (``audit.read``, like unrouted events' excerpts), never copied into decisions or logs; the
  normalised form drops case and punctuation, not content, so a member should not correct a message
  they would not want the workspace's admins to read.
- Every correction is audited (``routing.correction.created``: agent, whether it agreed, never the
  text).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import msgspec
from sqlalchemy import ForeignKey, Index, String, Text, func, or_, select
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from automatos.agents import models as am
from automatos.kernel.db.base import Base, created_at_column, uuid_pk
from automatos.kernel.errors import ValidationError
from automatos.kernel.store import KernelStore
from automatos.kernel.types import RouteDecision, RoutingRequest, Workspace
from automatos.routing.models import RoutingDecisionRow
from automatos.routing.normalize import normalize, text_digest

if TYPE_CHECKING:
    from automatos.routing.service import RouterService

__all__ = ["AGREEMENT", "CorrectionCreate", "CorrectionRecord", "CorrectionsService", "Example", "RoutingCorrectionRow"]

log = logging.getLogger("automatos.routing")

AGREEMENT = 2
"""How many corrections of one message (text and source) to one agent make it a labelled example."""
CORRECTION_TIER = "correction"
MAX_EXAMPLES = 10_000

AgentRef = Annotated[str, msgspec.Meta(min_length=1, max_length=100, description="An active agent: id or slug.")]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class RoutingCorrectionRow(Base):
    """One member's correction (tenant data: every query names ``workspace_id``)."""

    __tablename__ = "routing_corrections"
    __table_args__ = (Index("ix_routing_corrections_workspace_text", "workspace_id", "text_sha256"),)

    id: Mapped[str] = uuid_pk()
    workspace_id: Mapped[str] = mapped_column(String(36), ForeignKey("workspaces.id", ondelete="CASCADE"))
    text_sha256: Mapped[str] = mapped_column(String(64))
    """sha256 (hex) of the normalised text — the decision cache's and decisions' key."""
    normalized: Mapped[str] = mapped_column(Text)
    """The normalised text: a labelled example needs it (see the module docstring)."""
    source: Mapped[str | None] = mapped_column(String(200))
    agent_id: Mapped[str] = mapped_column(String(36))
    decision_id: Mapped[str | None] = mapped_column(String(36))
    actor: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()


class CorrectionCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    message: Annotated[str, msgspec.Meta(max_length=1_000_000)]
    agent: AgentRef
    """The agent that should have answered."""
    source: Label | None = None
    """The source the message was routed from (the cache key includes it)."""
    decision_id: Annotated[str, msgspec.Meta(min_length=1, max_length=36)] | None = None
    """The decision being corrected, if known (``routing_decisions.id``)."""


class CorrectionRecord(msgspec.Struct, kw_only=True):
    id: str
    agent_id: str
    agent_slug: str
    source: str | None
    text_sha256: str
    decision_id: str | None
    agreeing: int
    """Corrections of this message and source to this agent, this one included."""
    agreed: bool
    """At least :data:`AGREEMENT`: a labelled example, and the cached decision rewritten."""
    cache_rewritten: bool
    """The decision cache now answers this agent with confidence 1.0 (false when the cache is down)."""
    created_at: datetime


class Example(msgspec.Struct, kw_only=True):
    """A labelled example: normalised text, the agent's slug, how many corrections agree."""

    text: str
    agent: str
    source: str | None
    corrections: int


class CorrectionsService:
    """Corrections of routing decisions and the labelled examples they make."""

    def __init__(self, router: RouterService) -> None:
        self.router = router
        self.sessionmaker = router.sessionmaker

    async def correct(
        self, workspace: Workspace, data: CorrectionCreate, *, actor_id: str | None, request_id: str | None = None
    ) -> CorrectionRecord:
        """Store a correction; when it makes an agreement, rewrite the cached decision (see the module)."""
        limit = self.router.settings().routing_max_message_chars
        if not data.message.strip():
            raise ValidationError("the message is empty", field="message")
        if len(data.message) > limit:
            raise ValidationError(f"the message is {len(data.message)} characters; at most {limit}", field="message")
        normalized = normalize(data.message)
        if not normalized:
            raise ValidationError("the message has no letter or digit once normalised", field="message")
        digest = text_digest(normalized)
        created = datetime.fromtimestamp(self.router.clock(), UTC)
        async with self.sessionmaker.begin() as session:
            agent = await session.scalar(
                select(am.Agent)
                .where(
                    am.Agent.workspace_id == workspace.id,
                    or_(am.Agent.id == data.agent, am.Agent.slug == data.agent),
                    am.Agent.status == "active",
                )
                .limit(1)
            )
            if agent is None:
                raise ValidationError(
                    f"agent {data.agent[:100]!r} is not an active agent of this workspace", field="agent"
                )
            if data.decision_id is not None:
                await self.router.recorder.flush()
                decided = await session.scalar(
                    select(RoutingDecisionRow.text_sha256).where(
                        RoutingDecisionRow.workspace_id == workspace.id, RoutingDecisionRow.id == data.decision_id
                    )
                )
                if decided is None:
                    raise ValidationError("decision_id is no routing decision of this workspace", field="decision_id")
                if decided != digest:
                    raise ValidationError("decision_id decided another message", field="decision_id")
            row = RoutingCorrectionRow(
                workspace_id=workspace.id,
                text_sha256=digest,
                normalized=normalized,
                source=data.source,
                agent_id=agent.id,
                decision_id=data.decision_id,
                actor=actor_id,
                created_at=created,
            )
            session.add(row)
            await session.flush()
            agreeing = int(
                await session.scalar(
                    select(func.count())
                    .select_from(RoutingCorrectionRow)
                    .where(
                        RoutingCorrectionRow.workspace_id == workspace.id,
                        RoutingCorrectionRow.text_sha256 == digest,
                        _same_source(data.source),
                        RoutingCorrectionRow.agent_id == agent.id,
                    )
                )
                or 0
            )
            agreed = agreeing >= AGREEMENT
            KernelStore._audit(
                session,
                workspace.id,
                actor_id,
                "routing.correction.created",
                "routing_correction",
                row.id,
                {"agent_id": agent.id, "agreeing": agreeing, "agreed": agreed},
                request_id,
            )
            record = CorrectionRecord(
                id=row.id,
                agent_id=agent.id,
                agent_slug=agent.slug,
                source=data.source,
                text_sha256=digest,
                decision_id=data.decision_id,
                agreeing=agreeing,
                agreed=agreed,
                cache_rewritten=False,
                created_at=row.created_at,
            )
        if agreed:
            decision = RouteDecision(
                agent_id=agent.id,
                confidence=1.0,
                tier=CORRECTION_TIER,
                reason=f"corrected: {agreeing} corrections agree",
            )
            record.cache_rewritten = await self._remember(workspace, data.message, normalized, data.source, decision)
        return record

    async def _remember(
        self, workspace: Workspace, text: str, normalized: str, source: str | None, decision: RouteDecision
    ) -> bool:
        """Hand ``decision`` to the workspace's tiers that remember (the decision cache), as the router does."""
        request = RoutingRequest(workspace_id=workspace.id, text=text, normalized=normalized, source=source)
        return await self.router.remember(workspace, request, decision)

    async def examples(self, workspace_id: str) -> list[tuple[str, str]]:
        """The workspace's labelled examples as ``(normalised text, agent slug)`` — for calibration's fit."""
        return [(e.text, e.agent) for e in await self.example_list(workspace_id)]

    async def example_list(self, workspace_id: str) -> list[Example]:
        """Agreed corrections (:data:`AGREEMENT` or more), one per text and source: the agent most
        corrections name (ties: the latest); only agents still active. At most :data:`MAX_EXAMPLES`."""
        count = func.count().label("n")
        latest = func.max(RoutingCorrectionRow.created_at).label("latest")
        async with self.sessionmaker() as session:
            rows = (
                await session.execute(
                    select(
                        RoutingCorrectionRow.text_sha256,
                        RoutingCorrectionRow.source,
                        am.Agent.slug,
                        func.min(RoutingCorrectionRow.normalized),
                        count,
                        latest,
                    )
                    .join(am.Agent, am.Agent.id == RoutingCorrectionRow.agent_id)
                    .where(
                        RoutingCorrectionRow.workspace_id == workspace_id,
                        am.Agent.workspace_id == workspace_id,
                        am.Agent.status == "active",
                    )
                    .group_by(RoutingCorrectionRow.text_sha256, RoutingCorrectionRow.source, am.Agent.slug)
                    .having(count >= AGREEMENT)
                    .order_by(count.desc(), latest.desc())
                    .limit(MAX_EXAMPLES * 2)
                )
            ).all()
        chosen: dict[tuple[str, str | None], Example] = {}
        for digest, source, slug, text, n, _ in rows:
            key = (digest, source)
            if key not in chosen:  # the most corrections first, then the latest
                chosen[key] = Example(text=text, agent=slug, source=source, corrections=int(n))
        return list(chosen.values())[:MAX_EXAMPLES]


def _same_source(source: str | None) -> ColumnElement[bool]:
    column = RoutingCorrectionRow.source
    return column.is_(None) if source is None else column == source
