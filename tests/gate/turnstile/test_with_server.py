"""The turnstile against a real server: enrolled, its snapshot pulled, its journal synced.

The whole path of issue 10's "day at the gym": credentials registered on the
server reach the turnstile as keyed hashes in its snapshot; taps on the reader
simulators go through the app to the relay board simulator; the journal
(``offline_queue``) is uploaded by the sync client, and the server's ledger
holds each charge once; the next snapshot counts them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from central.db.database import Database
from central.estate import registry
from central.estate.settings import load as load_estate
from central.facilities import service as facilities
from central.ledger import operations as ops
from central.ledger.operations import Context
from gate.turnstile.authoriser import Credential, Holder
from offline_queue.client import SignedClient
from offline_queue.journal import Journal
from offline_queue.snapshot import SnapshotStore
from offline_queue.sync import SyncClient
from tests.central.conftest import migrated_template
from tests.gate.turnstile.conftest import UID_B, Rig
from tests.offline_queue import support

__all__ = ["migrated_template"]

QR_TOKEN = "PP1-resident-A0101"  # registered as a QR credential (dashes dropped)


@pytest.fixture
def ledger(migrated_template: Path, tmp_path: Path) -> Iterator[tuple[Database, str]]:
    url = support.copy_template(migrated_template, tmp_path)
    db = Database.open(url, migrate=False)
    yield db, url
    db.close()


def test_synced_day(rig: Rig, ledger: tuple[Database, str], tmp_path: Path) -> None:
    db, url = ledger
    now = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    with db.write() as conn:
        estate = load_estate(conn)
        registry.add_credential(conn, unit="A-0101", kind="qr", value=QR_TOKEN)
        registry.add_credential(conn, unit="A-0102", kind="card", value=UID_B)
        for n, unit in enumerate(("A-0101", "A-0102")):
            ctx = Context(estate=estate, idempotency_key=f"seed-{n}", actor="test")
            ops.top_up(
                conn,
                ctx,
                unit=unit,
                purpose="services",
                amount=5000,
                currency="CNY",
                method="staff_desk",
                source="",
            )
        facilities.create_facility(
            conn, code="gym", name="Gym", kind="gym", pricing="per_use", price="15", now=now
        )
    identity = support.enrol(db, terminal_type="turnstile", location="Gym")
    with support.server(db, url) as client:
        network = support.Network(client)
        signed = SignedClient(identity, network)
        with Journal(tmp_path / "journal.sqlite3", identity) as journal:
            store = SnapshotStore(journal)
            snapshot = store.pull(signed)
            assert snapshot.data["balances"]["A-0101"]["services"] == 5000
            rig.authoriser.load(snapshot.data)
            rig.controller.journal = journal

            rig.relay_sim.walk(2)
            rig.qr_sim.scan(QR_TOKEN)
            assert rig.until_outcome().passed
            time.sleep(0.25)
            rig.uid_sim.tap(UID_B)
            assert rig.until_outcome().passed
            time.sleep(0.25)
            rig.qr_sim.scan(QR_TOKEN)  # nobody pushes the arm this time
            assert not rig.until_outcome().passed

            result = SyncClient(journal, signed).sync_once()
            assert result.ok
            assert support.balance(db, "wallet:A-0101:services") == 3500
            assert support.balance(db, "wallet:A-0102:services") == 3500
            assert support.balance(db, "revenue:facility.gym") == 3000
            # Each journalled charge is one ledger transaction.
            assert set(support.ledger_count(db, identity.terminal_id).values()) == {1}

            fresh = store.pull(signed)
            assert fresh.journal_head == journal.head()
            rig.authoriser.load(fresh.data, synced=fresh.journal_head >= journal.head())
            holder = rig.authoriser.identify(Credential("qr", QR_TOKEN), rig.clock[0].date())
            assert isinstance(holder, Holder)
            assert holder.available == 3500  # the charge counted once, not twice
