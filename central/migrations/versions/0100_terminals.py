"""terminals: enrolment codes, registry, keys, nonces, configs, heartbeats

Revision ID: 0100_terminals
Revises: 0001
Create Date: 2026-11-25 18:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import central.db.types

revision: str = "0100_terminals"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "terminal_enrolment_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("terminal_type", sa.String(length=16), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=96), nullable=False),
        sa.Column("created_at", central.db.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", central.db.types.UTCDateTime(), nullable=False),
        sa.Column("used_at", central.db.types.UTCDateTime(), nullable=True),
        sa.Column("terminal_id", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "terminal_type IN ('kiosk', 'gate', 'turnstile', 'meter-gateway')",
            name=op.f("ck_terminal_enrolment_codes_type"),
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_terminal_enrolment_codes")),
    )
    op.create_table(
        "terminals",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("terminal_type", sa.String(length=16), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
        sa.Column("enrolled_at", central.db.types.UTCDateTime(), nullable=False),
        sa.Column("enrolled_by", sa.String(length=96), nullable=False),
        sa.Column("decommissioned_at", central.db.types.UTCDateTime(), nullable=True),
        sa.Column("journal_last_seq", sa.BigInteger(), nullable=True),
        sa.Column("journal_synced_seq", sa.BigInteger(), nullable=True),
        sa.Column("keys_dead_at", central.db.types.UTCDateTime(), nullable=True),
        sa.Column("config_version_acked", sa.Integer(), nullable=True),
        sa.Column("last_heartbeat_at", central.db.types.UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('active', 'decommissioning', 'decommissioned', 'revoked')",
            name=op.f("ck_terminals_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_terminals")),
    )
    op.create_table(
        "terminal_nonces",
        sa.Column("terminal_id", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("seen_at", central.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("terminal_id", "nonce", name=op.f("pk_terminal_nonces")),
    )
    op.create_index(
        op.f("ix_terminal_nonces_seen_at"), "terminal_nonces", ["seen_at"], unique=False
    )
    op.create_table(
        "terminal_keys",
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("terminal_id", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", central.db.types.UTCDateTime(), nullable=False),
        sa.Column("retired_at", central.db.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["terminal_id"],
            ["terminals.id"],
            name=op.f("fk_terminal_keys_terminal_id_terminals"),
        ),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_terminal_keys")),
    )
    op.create_index(
        op.f("ix_terminal_keys_terminal_id"), "terminal_keys", ["terminal_id"], unique=False
    )
    op.create_table(
        "terminal_configs",
        sa.Column("terminal_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("created_at", central.db.types.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=96), nullable=False),
        sa.ForeignKeyConstraint(
            ["terminal_id"],
            ["terminals.id"],
            name=op.f("fk_terminal_configs_terminal_id_terminals"),
        ),
        sa.PrimaryKeyConstraint("terminal_id", "version", name=op.f("pk_terminal_configs")),
    )
    op.create_table(
        "terminal_heartbeats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("terminal_id", sa.String(length=64), nullable=False),
        sa.Column("received_at", central.db.types.UTCDateTime(), nullable=False),
        sa.Column("clock_offset_s", sa.Float(), nullable=False),
        sa.Column("software_version", sa.String(length=32), nullable=False),
        sa.Column("config_version", sa.Integer(), nullable=True),
        sa.Column("journal_backlog", sa.Integer(), nullable=False),
        sa.Column("journal_head", sa.BigInteger(), nullable=True),
        sa.Column("devices", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["terminal_id"],
            ["terminals.id"],
            name=op.f("fk_terminal_heartbeats_terminal_id_terminals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_terminal_heartbeats")),
    )
    op.create_index(
        "ix_terminal_heartbeats_terminal",
        "terminal_heartbeats",
        ["terminal_id", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_terminal_heartbeats_terminal", table_name="terminal_heartbeats")
    op.drop_table("terminal_heartbeats")
    op.drop_table("terminal_configs")
    op.drop_index(op.f("ix_terminal_keys_terminal_id"), table_name="terminal_keys")
    op.drop_table("terminal_keys")
    op.drop_index(op.f("ix_terminal_nonces_seen_at"), table_name="terminal_nonces")
    op.drop_table("terminal_nonces")
    op.drop_table("terminals")
    op.drop_table("terminal_enrolment_codes")
