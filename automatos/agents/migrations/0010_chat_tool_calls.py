"""Chat tool calls (issue 14): a session's ``tool`` messages carry the call they answer.

Revision ID: 0010
Revises: 0009
Create Date: 2027-03-02 00:00:00

Hand-written and frozen like the others. ``chat_messages.tool_call`` (JSON, null for every other
message): ``{id, name, arguments, ok, error, truncated, ran, ms}`` of the call a ``tool`` message
answers; its ``content`` is the result as the model was shown it
(:mod:`automatos.chat.tool_loop`). Nullable, no default: old rows need nothing.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("chat_messages") as batch:
        batch.add_column(sa.Column("tool_call", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chat_messages") as batch:
        batch.drop_column("tool_call")
