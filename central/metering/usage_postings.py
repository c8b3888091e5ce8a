"""Usage into the ledger: one ``usage`` transaction per charged reading.

What the wallet's floor cannot take goes to the unit's debt account; a
common-area meter's charge is shared out to the flats by floor area.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from central.ledger.batch import BatchAccounts
from central.ledger.plans import Plan
from central.ledger.posting import Leg, new_transaction_id
from central.metering import registry, supply
from central.metering.batch_io import BatchWriter, MeterState
from domain.metering_messages import Reading
from domain.wallets import Purpose, revenue_code, wallet_code


def post_usage(
    book: BatchAccounts,
    writer: BatchWriter,
    meter: MeterState,
    minor: int,
    usage: Decimal,
    reading: Reading,
    created: Any,
    actor: str,
) -> str:
    assert meter.unit is not None
    wallet = book.states[wallet_code(meter.unit, Purpose(meter.utility))]
    revenue = book.system(revenue_code(meter.utility), "revenue")
    floor = wallet.account.floor if wallet.account.floor is not None else 0
    room = max(0, wallet.balance - wallet.held - floor)
    fit = min(minor, room)
    legs = [Leg(revenue, minor)]
    if fit:
        legs.append(Leg(wallet.account, -fit))
    if minor - fit:
        debt = book.system(supply.debt_code(meter.unit, meter.utility), "debt")
        legs.append(Leg(debt, -(minor - fit)))
    book.admit(Plan("usage", legs))
    transaction_id = os.urandom(16).hex()  # as the ledger's ids, without a UUID object
    writer.transactions.append(
        (
            transaction_id,
            "usage",
            f"reading:{meter.serial}:{reading.taken_at.isoformat()}",
            created,
            actor,
            f"{usage} {registry.REGISTER_UNITS[meter.utility]} {meter.utility}",
        )
    )
    writer.postings.extend((transaction_id, leg.account.id, leg.amount) for leg in legs)
    return transaction_id


def floor_areas(conn: Connection) -> list[tuple[str, Decimal]]:
    """Every flat's code and floor area: how common-area usage is shared out."""
    from central.db.schema import units

    return [
        (r.code, Decimal(str(r.area_m2)))
        for r in conn.execute(
            select(units.c.code, units.c.area_m2)
            .where(units.c.kind == "flat")
            .order_by(units.c.code)
        )
    ]


def share_out(amount: int, weights: Sequence[tuple[str, Decimal]]) -> list[tuple[str, int]]:
    """Split whole minor units by weight; the largest remainders get the odd units."""
    total = sum((w for _, w in weights), Decimal(0))
    if total <= 0:
        return []
    exact = [(code, amount * w / total) for code, w in weights]
    parts = [(code, int(x)) for code, x in exact]
    left = amount - sum(p for _, p in parts)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i][1] - parts[i][1]), exact[i][0]))
    bumped = set(order[:left])
    return [(code, p + (1 if i in bumped else 0)) for i, (code, p) in enumerate(parts)]


def post_shared(
    book: BatchAccounts,
    writer: BatchWriter,
    meter: MeterState,
    minor: int,
    usage: Decimal,
    reading: Reading,
    created: Any,
    actor: str,
    weights: Sequence[tuple[str, Decimal]],
) -> str:
    """A common-area meter's charge, shared out to the flats by floor area: one
    transaction, one leg per flat (each visible on its wallet's statement)."""
    revenue = book.system(revenue_code(meter.utility), "revenue")
    legs = [Leg(revenue, minor)]
    for unit, share in share_out(minor, weights):
        if share <= 0:
            continue
        wallet = book.states[wallet_code(unit, Purpose(meter.utility))]
        floor = wallet.account.floor if wallet.account.floor is not None else 0
        fit = min(share, max(0, wallet.balance - wallet.held - floor))
        if fit:
            legs.append(Leg(wallet.account, -fit))
        if share - fit:
            legs.append(
                Leg(book.system(supply.debt_code(unit, meter.utility), "debt"), fit - share)
            )
    book.admit(Plan("usage", legs))
    transaction_id = new_transaction_id()
    writer.transactions.append(
        (
            transaction_id,
            "usage",
            f"reading:{meter.serial}:{reading.taken_at.isoformat()}",
            created,
            actor,
            f"shared area: {usage} {registry.REGISTER_UNITS[meter.utility]} {meter.utility} "
            "by floor area",
        )
    )
    writer.postings.extend((transaction_id, leg.account.id, leg.amount) for leg in legs)
    return transaction_id
