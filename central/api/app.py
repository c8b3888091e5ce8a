"""The FastAPI application."""

from __future__ import annotations

from importlib import metadata

from fastapi import FastAPI

from central.api import errors, routes_auth, routes_estate, routes_ledger
from central.auth.terminals import TerminalVerifier, no_terminals_enrolled
from central.db.database import Database
from central.settings import Settings


def create_app(
    settings: Settings,
    db: Database | None = None,
    *,
    terminal_verifier: TerminalVerifier = no_terminals_enrolled,
) -> FastAPI:
    try:
        version = metadata.version("prepaid")
    except metadata.PackageNotFoundError:
        version = "0"
    app = FastAPI(
        title="Prepaid central server",
        version=version,
        description=(
            "The ledger and registry of a prepaid estate. Amounts are integers in minor "
            "units. Every write needs an `Idempotency-Key` header; staff authenticate "
            "with `Authorization: Bearer <token>` from `POST /v1/auth/token`, terminals "
            "with signed requests."
        ),
    )
    app.state.settings = settings
    app.state.db = db or Database.open(settings.database_url)
    app.state.terminal_verifier = terminal_verifier
    errors.install(app)
    app.include_router(routes_auth.router)
    app.include_router(routes_estate.router)
    app.include_router(routes_ledger.router)
    return app
