"""schemathesis against the served OpenAPI document, signed in as a manager:
hostile and random input finds no 5xx and no answer that breaks the schema."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import checks

from central.api.app import create_app
from central.db.database import Database
from central.payments.provider import ProviderApi
from central.settings import Settings
from tests.central.conftest import token_for
from tests.central.payments.support import SECRET, Sandbox

# Ten examples an operation keeps CI quick; a deeper hunt sets PREPAID_FUZZ_EXAMPLES.
EXAMPLES = int(os.environ.get("PREPAID_FUZZ_EXAMPLES", "10"))
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    # The payment routes talk to a real provider: the sandbox, in its own process.
    process = Sandbox.start()
    yield process
    process.stop()


def test_no_server_error_and_every_answer_fits_the_schema(
    migrated_template: Path, tmp_path: Path, sandbox: Sandbox
) -> None:
    path = tmp_path / "fuzz.sqlite3"
    shutil.copyfile(migrated_template, path)
    db = Database.open(f"sqlite:///{path}", migrate=False)
    app = create_app(Settings(database_url=f"sqlite:///{path}"), db)
    app.state.payment_provider = ProviderApi(sandbox.url, SECRET, "sandbox")
    auth = {"Authorization": f"Bearer {token_for(db, 'boss')}"}
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
        @given(case=operation.as_strategy(), with_auth=st.booleans())
        def run(case: Any, with_auth: bool) -> None:
            if with_auth or case.path.startswith("/v1/me"):
                case.headers = {**(case.headers or {}), **auth}
            case.call_and_validate(checks=CHECKS)

        try:
            run()
        except (Exception, BaseExceptionGroup) as err:  # collect every operation's failures
            failures.append(f"{operation.method.upper()} {operation.path}: {str(err)[:600]}")
    db.close()
    assert not failures, "\n\n".join(failures)
