"""The FastAPI application."""

from __future__ import annotations

from importlib import metadata
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from central.api import (
    errors,
    routes_auth,
    routes_cash,
    routes_estate,
    routes_facilities,
    routes_fees,
    routes_journal,
    routes_kiosk,
    routes_ledger,
    routes_me,
    routes_metering,
    routes_parking,
    routes_payments,
    routes_terminals,
)
from central.api.errors import ERROR_RESPONSES
from central.api.server_time import ServerTimeMiddleware
from central.auth.terminals import TerminalVerifier
from central.db.database import Database
from central.settings import Settings


def create_app(
    settings: Settings,
    db: Database | None = None,
    *,
    terminal_verifier: TerminalVerifier | None = None,
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
    if terminal_verifier is None:
        from central.terminals.verify import SignedRequestVerifier

        terminal_verifier = SignedRequestVerifier()
    app.state.terminal_verifier = terminal_verifier
    app.add_middleware(ServerTimeMiddleware)
    errors.install(app)
    for router in (
        routes_auth.router,
        routes_estate.router,
        routes_ledger.router,
        routes_facilities.router,
        routes_metering.router,
        routes_terminals.router,
        routes_me.router,
        routes_fees.router,
        routes_journal.router,
        routes_parking.router,
        routes_kiosk.router,
        routes_payments.router,
        routes_cash.router,
    ):
        # Every route documents the error answers any route can give.
        app.include_router(router, responses=ERROR_RESPONSES)
    _state_roles(app)
    return app


def allowed_roles(route: APIRoute) -> frozenset[str] | None:
    """The roles a route admits (``None``: a public route such as health or sign-in)."""
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        roles = getattr(dependency.call, "allowed_roles", None)
        if roles is not None:
            return frozenset(role.value for role in roles)
        pending.extend(dependency.dependencies)
    return None


def api_routes(app: FastAPI) -> list[APIRoute]:
    """Every API route, including those of included routers (which newer FastAPI
    versions keep nested rather than copying into ``app.routes``)."""
    found: list[APIRoute] = []
    pending: list[Any] = list(app.routes)
    while pending:
        route = pending.pop(0)
        if isinstance(route, APIRoute):
            found.append(route)
        nested = getattr(route, "original_router", None)
        if nested is not None:
            pending.extend(nested.routes)
    return found


def _state_roles(app: FastAPI) -> None:
    """Every endpoint says in the OpenAPI document who may call it."""
    for route in api_routes(app):
        if "Who may call it" in route.description:
            continue  # a router shared by several apps (tests) is annotated once
        roles = allowed_roles(route)
        who = "anyone (no sign-in)" if roles is None else ", ".join(sorted(roles))
        route.description = f"{route.description}\n\n**Who may call it:** {who}.".strip()
