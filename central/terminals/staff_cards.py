"""Staff cards: an estate card issued by a manager to a technician.

A staff card is an ordinary estate card (the same card application, genuine by
the same challenge and response), but it belongs to a staff member, not to a
unit: it never opens a household's wallets. A kiosk gets every staff card in its
snapshot, as the card's keyed hash with the card's id, role and status (no name,
no number), and opens its technician screen for an active technician card. A
lost or revoked card stays in the snapshot with its status, so the kiosk refuses
it with the reason, as it does a resident's card.

The flow: ``issue`` (a manager, for an active technician), ``set_status`` (lost,
revoked, or active again when found), ``for_snapshot`` (what a kiosk is sent).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from central.auth.principal import Role
from central.db.schema import credentials, staff
from central.db.types import utcnow
from central.errors import Conflict, InvalidRequest, NotFound
from central.estate.registry import normalise_credential
from central.terminals.tables import staff_cards
from domain import journal as dj

STATUSES = ("active", "lost", "revoked")
# The estate card application's card-number file holds 16 ASCII characters
# (terminal_drivers/card_reader/apdu.py): a longer number cannot be written to a card.
CARD_NUMBER_SIZE = 16
# Who may hold a technician card: the staff roles that may service a terminal.
TECHNICIAN_ROLES = (Role.TECHNICIAN.value, Role.MANAGER.value)


@dataclass(frozen=True, slots=True)
class StaffCard:
    id: int
    card_number: str
    staff: str  # the username: for the back office only, never sent to a terminal
    role: str
    status: str
    created_at: str


def issue(conn: Connection, *, card_number: str, username: str, created_by: str) -> int:
    """A technician card for ``username``; refused for a number a resident card has."""
    number = normalise_credential("card", card_number)
    if len(number) > CARD_NUMBER_SIZE:
        raise InvalidRequest(
            f"a card number has at most {CARD_NUMBER_SIZE} characters (the card's file)",
            code="invalid_card_number",
        )
    member = conn.execute(
        select(staff.c.id, staff.c.role, staff.c.active).where(staff.c.username == username)
    ).first()
    if member is None:
        raise NotFound(f"there is no staff member {username!r}", code="unknown_staff")
    if not member.active or member.role not in TECHNICIAN_ROLES:
        raise InvalidRequest(
            f"a technician card is for an active {' or '.join(TECHNICIAN_ROLES)}",
            code="not_a_technician",
        )
    # One number, one holder: a resident's card (in any state) is never also a staff card.
    resident = conn.execute(
        select(credentials.c.id).where(credentials.c.kind == "card", credentials.c.value == number)
    ).first()
    taken = conn.execute(select(staff_cards.c.id).where(staff_cards.c.card_number == number))
    if resident is not None or taken.first() is not None:
        raise Conflict(f"card {number} is already issued", code="card_in_use")
    result = conn.execute(
        insert(staff_cards).values(
            card_number=number,
            staff_id=member.id,
            role="technician",
            status="active",
            created_at=utcnow(),
            created_by=created_by,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def status_of(conn: Connection, card_id: int) -> str | None:
    row = conn.execute(select(staff_cards.c.status).where(staff_cards.c.id == card_id)).first()
    return None if row is None else str(row.status)


def set_status(conn: Connection, card_id: int, status: str) -> None:
    """Lost, revoked, or active again (a lost card found)."""
    if status not in STATUSES:
        raise InvalidRequest(f"a staff card's status is one of {STATUSES}", code="invalid_status")
    done = conn.execute(
        update(staff_cards)
        .where(staff_cards.c.id == card_id)
        .values(status=status, status_changed_at=utcnow())
    )
    if done.rowcount == 0:
        raise NotFound(f"there is no staff card {card_id}", code="unknown_staff_card")


def list_cards(conn: Connection) -> list[StaffCard]:
    rows = conn.execute(
        select(
            staff_cards.c.id,
            staff_cards.c.card_number,
            staff.c.username,
            staff_cards.c.role,
            staff_cards.c.status,
            staff_cards.c.created_at,
        )
        .join(staff, staff.c.id == staff_cards.c.staff_id)
        .order_by(staff_cards.c.id)
    )
    return [
        StaffCard(r.id, r.card_number, r.username, r.role, r.status, r.created_at.isoformat())
        for r in rows
    ]


def for_snapshot(conn: Connection, hash_key: str) -> dict[str, dict[str, Any]]:
    """Every staff card as a kiosk sees it: keyed hash -> id, role, status.

    Sent whole with each snapshot (they are few), so a lost card's new status
    replaces the old one at the next pull. A card whose holder left (inactive)
    is sent revoked.
    """
    rows = conn.execute(
        select(
            staff_cards.c.id,
            staff_cards.c.card_number,
            staff_cards.c.role,
            staff_cards.c.status,
            staff.c.active,
        ).join(staff, staff.c.id == staff_cards.c.staff_id)
    )
    return {
        dj.credential_hash(hash_key, "card", r.card_number): {
            "id": int(r.id),
            "role": str(r.role),
            "status": str(r.status) if r.active else "revoked",
        }
        for r in rows
    }
