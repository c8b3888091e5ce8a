"""schemathesis against the served OpenAPI document: hostile and random input finds no
5xx and no answer that breaks the schema, signed in as a manager and as a resident.
A resident's token opens nothing outside their own ``/v1/me`` pages."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import checks

from central.api.app import create_app
from central.db.database import Database
from central.estate import registry
from central.payments.provider import ProviderApi
from central.residents.login import exchange_code, request_code
from central.settings import Settings
from tests.central.conftest import token_for
from tests.central.payments.support import SECRET, Sandbox

# Ten examples an operation keeps CI quick; a deeper hunt sets PREPAID_FUZZ_EXAMPLES.
EXAMPLES = int(os.environ.get("PREPAID_FUZZ_EXAMPLES", "10"))
# The suite's 300 s a test would stop a deep hunt part way, and hypothesis would then
# report the interrupted case as flaky: a run's time grows with its examples.
DEEP_ENOUGH = pytest.mark.timeout(max(300, EXAMPLES * 12))
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
OWN_UNIT = "A-0101"
PHONE = "+86 139 0000 0101"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    # The payment routes talk to a real provider: the sandbox, in its own process.
    process = Sandbox.start()
    yield process
    process.stop()


@pytest.fixture
def estate(
    migrated_template: Path, tmp_path: Path, sandbox: Sandbox
) -> Iterator[tuple[FastAPI, Database]]:
    path = tmp_path / "fuzz.sqlite3"
    shutil.copyfile(migrated_template, path)
    db = Database.open(f"sqlite:///{path}", migrate=False)
    app = create_app(Settings(database_url=f"sqlite:///{path}"), db)
    app.state.payment_provider = ProviderApi(sandbox.url, SECRET, "sandbox")
    yield app, db
    db.close()


def _fuzz(
    app: FastAPI,
    auth: dict[str, str],
    *,
    own_unit: str | None = None,
    after: Callable[[Any, Any], None] = lambda case, response: None,
) -> list[str]:
    """Every operation, EXAMPLES cases each, signed with ``auth`` or not (the ``/v1/me``
    pages always); half the cases that name a unit name ``own_unit``, where given, so
    the caller's real pages are fuzzed too. The failures of all of them, not the first."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    # Signing out revokes the token the other operations use: it goes last.
    operations = sorted(
        (result.ok() for result in schema.get_all_operations()),
        key=lambda op: op.path == "/v1/auth/revoke",
    )
    assert len(operations) > 20
    failures: list[str] = []
    for operation in operations:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(), with_auth=st.booleans(), own=st.booleans())
        def run(case: Any, with_auth: bool, own: bool) -> None:
            if with_auth or case.path.startswith("/v1/me"):
                case.headers = {**(case.headers or {}), **auth}
            if own_unit and own and case.path_parameters and "unit" in case.path_parameters:
                case.path_parameters = {**case.path_parameters, "unit": own_unit}
            after(case, case.call_and_validate(checks=CHECKS))

        try:
            run()
        except (Exception, BaseExceptionGroup) as err:  # collect every operation's failures
            failures.append(f"{operation.method.upper()} {operation.path}: {str(err)[:600]}")
    return failures


@DEEP_ENOUGH
def test_as_a_manager_no_server_error_and_every_answer_fits_the_schema(
    estate: tuple[FastAPI, Database],
) -> None:
    app, db = estate
    failures = _fuzz(app, {"Authorization": f"Bearer {token_for(db, 'boss')}"})
    assert not failures, "\n\n".join(failures)


class _Codes:
    def __init__(self) -> None:
        self.code = ""

    def send_code(self, *, phone: str, code: str, resident_id: int, language: str) -> None:
        self.code = code


def _resident_token(db: Database) -> str:
    codes = _Codes()
    with db.write() as conn:
        registry.add_resident(conn, unit=OWN_UNIT, name="Fuzz Resident", phone=PHONE)
        request_code(conn, codes, PHONE)
    with db.write() as conn:
        signed_in = exchange_code(conn, PHONE, codes.code)
    assert signed_in is not None
    return signed_in[0]


@DEEP_ENOUGH
def test_as_a_resident_no_server_error_and_nothing_opens_beyond_their_household(
    estate: tuple[FastAPI, Database],
) -> None:
    app, db = estate
    manager = {"Authorization": f"Bearer {token_for(db, 'boss')}"}
    resident = {"Authorization": f"Bearer {_resident_token(db)}"}
    # Something on the household's statement for the resident's pages to show.
    with TestClient(app) as client:
        top_up = {
            "unit": OWN_UNIT,
            "wallet": "water",
            "amount": 5000,
            "currency": "CNY",
            "method": "staff_desk",
        }
        answer = client.post(
            "/v1/ledger/top-ups", json=top_up, headers={**manager, "Idempotency-Key": "fuzz-1"}
        )
        assert answer.status_code in (200, 201), answer.text

    def after(case: Any, response: Any) -> None:
        signed = (case.headers or {}).get("Authorization") == resident["Authorization"]
        if not signed or case.path.startswith("/v1/me") or not 200 <= response.status_code < 300:
            return
        # The resident was let in outside their pages: only fine if anyone would be.
        case.headers = {k: v for k, v in case.headers.items() if k != "Authorization"}
        anonymous = case.call()
        assert anonymous.status_code not in (401, 403), (
            f"a resident's token opened {case.method} {case.path} "
            f"({response.status_code}), which is shut to the anonymous "
            f"({anonymous.status_code})"
        )

    failures = _fuzz(app, resident, own_unit=OWN_UNIT, after=after)
    assert not failures, "\n\n".join(failures)
