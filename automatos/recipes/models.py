"""The recipes' tables (migration ``0014_recipes``).

- ``recipes``: a workspace's recipe — its ``slug`` (unique in the workspace), name, the number of
  its newest version, ``active`` or ``archived``.
- ``recipe_versions``: every edit is a new immutable version (``definition``: inputs schema and
  steps, checked when written). A run is pinned to the version it started with.
- ``recipe_runs``: one run — its version, inputs, status (``queued``, ``running``, ``waiting`` for an
  approval, ``succeeded``, ``failed``, ``cancelled``), the step it is at, why it failed, when it may
  be advanced next (``not_before``: a retry's backoff), which worker holds it and its heartbeat.
- ``recipe_step_runs``: the checkpoints, keyed by ``(run, step, attempt)``: status (``running``,
  ``succeeded``, ``failed``, ``skipped``, ``waiting``), output, error, the idempotency key handed
  to tools. A finished step is never run again.
- ``recipe_run_events``: the run's durable event log (``seq`` per run), replayed after
  ``Last-Event-ID``.

All tenant data: every query names ``workspace_id``. The only writers are
:mod:`automatos.recipes.service` and :mod:`automatos.recipes.engine`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from automatos.kernel.db.base import Base, JSONType, UTCDateTime, created_at_column, updated_at_column, uuid_pk

__all__ = ["RUN_STATUSES", "Recipe", "RecipeRun", "RecipeRunEvent", "RecipeStepRun", "RecipeVersion"]

RUN_STATUSES = ("queued", "running", "waiting", "succeeded", "failed", "cancelled")
FINISHED = ("succeeded", "failed", "cancelled")


class Recipe(Base):
    __tablename__ = "recipes"
    __table_args__ = (
        UniqueConstraint("workspace_id", "slug"),
        CheckConstraint("status IN ('active', 'archived')", name="status"),
    )

    id: Mapped[str] = uuid_pk()
    workspace_id: Mapped[str] = mapped_column(String(36), ForeignKey("workspaces.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    """The newest version's number."""
    status: Mapped[str] = mapped_column(String(20), default="active", server_default="active")
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class RecipeVersion(Base):
    __tablename__ = "recipe_versions"

    recipe_id: Mapped[str] = mapped_column(String(36), ForeignKey("recipes.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(36), ForeignKey("workspaces.id", ondelete="CASCADE"))
    definition: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()


class RecipeRun(Base):
    __tablename__ = "recipe_runs"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled')", name="status"
        ),
        Index(None, "workspace_id", "created_at"),
        Index(None, "status", "heartbeat_at"),
    )

    id: Mapped[str] = uuid_pk()
    workspace_id: Mapped[str] = mapped_column(String(36), ForeignKey("workspaces.id", ondelete="CASCADE"))
    recipe_id: Mapped[str] = mapped_column(String(36), ForeignKey("recipes.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    step: Mapped[str | None] = mapped_column(String(64))
    """The step it is at (or stopped at)."""
    error: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(20), default="api")
    """``api``, ``route`` (a routing decision) or ``trigger``."""
    events: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """The sequence number of its last event (the run is locked when one is appended)."""
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime())
    worker: Mapped[str | None] = mapped_column(String(100))
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RecipeStepRun(Base):
    __tablename__ = "recipe_step_runs"
    __table_args__ = (
        CheckConstraint("status IN ('running', 'succeeded', 'failed', 'skipped', 'waiting')", name="status"),
    )

    run_id: Mapped[str] = mapped_column(String(36), ForeignKey("recipe_runs.id", ondelete="CASCADE"), primary_key=True)
    step: Mapped[str] = mapped_column(String(64), primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(36), ForeignKey("workspaces.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20))
    output: Mapped[Any] = mapped_column(JSONType, nullable=True)
    error: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    log_key: Mapped[str | None] = mapped_column(String(500))
    """The step's full log in the blob store (its input, output, error, times), once it finished."""
    started_at: Mapped[datetime] = created_at_column()
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RecipeRunEvent(Base):
    __tablename__ = "recipe_run_events"

    run_id: Mapped[str] = mapped_column(String(36), ForeignKey("recipe_runs.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(36), ForeignKey("workspaces.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = created_at_column()
