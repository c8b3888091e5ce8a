"""parking: sessions paid in advance (paid_at, prepaid); room for "cancelled" in status

Revision ID: 0701_parking_prepaid
Revises: 0700_parking
Create Date: 2026-11-25 19:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import central.db.types

revision: str = "0701_parking_prepaid"
down_revision: str | None = "0700_parking"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("parking_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paid_at", central.db.types.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("prepaid", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.alter_column(
            "status",
            existing_type=sa.String(length=8),
            type_=sa.String(length=10),
            existing_nullable=False,
            existing_server_default="inside",
        )


def downgrade() -> None:
    with op.batch_alter_table("parking_sessions", schema=None) as batch_op:
        batch_op.alter_column(
            "status",
            existing_type=sa.String(length=10),
            type_=sa.String(length=8),
            existing_nullable=False,
            existing_server_default="inside",
        )
        batch_op.drop_column("prepaid")
        batch_op.drop_column("paid_at")
