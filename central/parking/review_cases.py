"""The cases a rule sends to a manager: raised by the gates' entries and exits, listed open."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select

from central.ledger.operations import Context
from central.parking.tables import parking_reviews
from domain.parking import Situation


def open_review(
    conn: Connection,
    ctx: Context,
    *,
    situation: Situation,
    plate: str,
    session_id: str | None,
    lane: str | None,
    note: str,
) -> None:
    conn.execute(
        insert(parking_reviews).values(
            situation=situation.value,
            plate=plate,
            session_id=session_id,
            lane=lane,
            note=note[:200],
            status="open",
            created_at=ctx.now,
        )
    )


def open_reviews(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(parking_reviews)
        .where(parking_reviews.c.status == "open")
        .order_by(parking_reviews.c.id)
    ).all()
    return [
        {
            "id": r.id,
            "situation": r.situation,
            "plate": r.plate,
            "session_id": r.session_id,
            "lane": r.lane,
            "note": r.note,
            "created_at": r.created_at.isoformat(),
        }
        for r in rows
    ]
