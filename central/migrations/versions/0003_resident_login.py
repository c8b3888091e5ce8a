"""residents' sign-in: one-time codes and household-scoped tokens

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import central.db.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "resident_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", central.db.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", central.db.types.UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("used_at", central.db.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name=op.f("fk_resident_codes_resident_id_residents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resident_codes")),
    )
    op.create_index(op.f("ix_resident_codes_resident_id"), "resident_codes", ["resident_id"])
    op.create_table(
        "resident_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("created_at", central.db.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", central.db.types.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", central.db.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name=op.f("fk_resident_tokens_resident_id_residents")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_resident_tokens")),
    )
    op.create_index(op.f("ix_resident_tokens_resident_id"), "resident_tokens", ["resident_id"])


def downgrade() -> None:
    op.drop_table("resident_tokens")
    op.drop_table("resident_codes")
