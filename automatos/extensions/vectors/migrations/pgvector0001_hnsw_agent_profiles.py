"""HNSW indexes for the router's agent profiles (PostgreSQL only; nothing on SQLite).

Revision ID: pgvector0001
Revises: (its own branch, after the kernel's 0001, which creates ``vector_items``)
Create Date: 2027-03-02 00:00:00

Hand-written and frozen. ``vector_items.embedding`` is an un-dimensioned ``vector``, which HNSW cannot
index, so each index is a partial expression index over the cast to one length, restricted to one
collection: ``routing-agent-profiles`` (the semantic tier's), 384 dimensions (``local-e5``,
multilingual-e5-small) and 1536 (OpenAI ``text-embedding-3-small`` / ``ada-002``). A partial index
costs nothing for rows outside its predicate, so the 1536 one is free until such profiles exist;
``text-embedding-3-large`` (3072) is over pgvector's 2,000-dimension limit for ``vector`` indexes.
Only queries that spell the same expression and predicate use them (the ``pgvector`` backend's
approximate path); every other query keeps its exact scan. The names and predicates are
:data:`automatos.extensions.vectors.pgvector.ANN_INDEXES`'s.
"""

from collections.abc import Sequence

from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "pgvector0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("pgvector",)
depends_on: str | Sequence[str] | None = "0001"

INDEXES = (
    ("ix_vector_items_hnsw_routing_profiles_384", "routing-agent-profiles", 384),
    ("ix_vector_items_hnsw_routing_profiles_1536", "routing-agent-profiles", 1536),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, collection, dimensions in INDEXES:
        op.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON vector_items USING hnsw "
            f"((embedding::vector({dimensions})) vector_cosine_ops) WITH (m = 16, ef_construction = 64) "
            f"WHERE collection = '{collection}' AND dimensions = {dimensions}"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, _, _ in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
