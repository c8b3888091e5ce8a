"""staff cards: technician cards the kiosks open their technician screen with

Revision ID: 0900_staff_cards
Revises: 0001
Create Date: 2026-11-26 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import central.db.types

revision: str = "0900_staff_cards"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_cards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("card_number", sa.String(length=16), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=8), server_default="active", nullable=False),
        sa.Column("created_at", central.db.types.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=96), nullable=False),
        sa.Column("status_changed_at", central.db.types.UTCDateTime(), nullable=True),
        sa.CheckConstraint("role IN ('technician')", name=op.f("ck_staff_cards_role")),
        sa.CheckConstraint(
            "status IN ('active', 'lost', 'revoked')", name=op.f("ck_staff_cards_status")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_staff_cards_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_cards")),
        sa.UniqueConstraint("card_number", name=op.f("uq_staff_cards_card_number")),
    )
    op.create_index(op.f("ix_staff_cards_staff_id"), "staff_cards", ["staff_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_staff_cards_staff_id"), table_name="staff_cards")
    op.drop_table("staff_cards")
