"""journal: terminals' journal heads, accepted entries, incidents, snapshot keys

Revision ID: 0400_journal
Revises: 0001
Create Date: 2026-11-25 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import central.db.types

revision: str = "0400_journal"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "journal_heads",
        sa.Column("terminal_id", sa.String(length=64), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", central.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("terminal_id", name=op.f("pk_journal_heads")),
    )
    op.create_table(
        "journal_entries",
        sa.Column("terminal_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("terminal_ms", sa.BigInteger(), nullable=False),
        sa.Column("server_ms", sa.BigInteger(), nullable=False),
        sa.Column("received_at", central.db.types.UTCDateTime(), nullable=False),
        sa.Column("verdict", sa.String(length=10), nullable=False),
        sa.Column("code", sa.String(length=48), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("transaction_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("terminal_id", "seq", name=op.f("pk_journal_entries")),
    )
    op.create_index(
        "ix_journal_entries_server_ms",
        "journal_entries",
        ["terminal_id", "server_ms"],
        unique=False,
    )
    op.create_table(
        "journal_incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("terminal_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("code", sa.String(length=48), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("seen_at", central.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_incidents")),
    )
    op.create_index(
        op.f("ix_journal_incidents_terminal_id"),
        "journal_incidents",
        ["terminal_id"],
        unique=False,
    )
    op.create_table(
        "journal_snapshot_keys",
        sa.Column("terminal_id", sa.String(length=64), nullable=False),
        sa.Column("hash_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", central.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("terminal_id", name=op.f("pk_journal_snapshot_keys")),
    )


def downgrade() -> None:
    op.drop_table("journal_snapshot_keys")
    op.drop_index(op.f("ix_journal_incidents_terminal_id"), table_name="journal_incidents")
    op.drop_table("journal_incidents")
    op.drop_index("ix_journal_entries_server_ms", table_name="journal_entries")
    op.drop_table("journal_entries")
    op.drop_table("journal_heads")
