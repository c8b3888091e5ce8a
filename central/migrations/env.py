"""Alembic environment: migrations run on the engine the server hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from central.cash import tables as _cash_tables  # noqa: F401  (registers its tables)
from central.db.schema import metadata
from central.facilities import tables as _facility_tables  # noqa: F401  (registers its tables)
from central.fees import tables as _fee_tables  # noqa: F401  (registers its tables)
from central.journal import tables as _journal_tables  # noqa: F401  (registers its tables)
from central.metering import tables as _metering_tables  # noqa: F401  (registers its tables)
from central.parking import tables as _parking_tables  # noqa: F401  (registers its tables)
from central.payments import tables as _payment_tables  # noqa: F401  (registers its tables)
from central.terminals import tables as _terminal_tables  # noqa: F401  (registers its tables)

config = context.config
engine = config.attributes.get("engine") or create_engine(
    config.get_main_option("sqlalchemy.url", "")
)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=engine.dialect.name == "sqlite",
        compare_type=True,
        # SQLite and PostgreSQL both roll DDL back: a failed migration leaves nothing half done.
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
