"""Alembic migrations, run from code when the server starts or the CLI opens a database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest schema; each migration runs in a transaction."""
    # "heads": each area of the server (terminals, metering, ...) keeps its own branch of
    # migrations from the initial schema, and all of them are applied.
    command.upgrade(alembic_config(engine), "heads")
