"""``prepaid central cash``: the kiosks' pulled cash boxes, and the office's count of one.

``collections`` lists them (``--open``: those still to count); ``count ID`` enters
the count per denomination (``--counts 10000=3,5000=1``) or as a total in minor
units (``--total 35000``), posts it once and says the variance in words.
``recount ID ... --reason R --by NAME`` corrects the count in force (by someone other
than who made it), posts the difference and keeps both on record.
``unapplied`` lists the cash top-ups the ledger refused (``--open``: those not
credited yet); ``credit KIOSK SEQ --unit U --wallet W`` posts one's cash from the
kiosk's box into that wallet, once.
The three that move money act in a manager's name: ``--by`` is their staff username
and they sign in with their password (asked for, or ``PREPAID_STAFF_PASSWORD``), so
the record says who, as it does through the API, and is audited the same way.
Exit status: 0 done, 1 refused (an unknown collection, one counted already, a
count that is not a count, a recount by the counter or one that changes nothing, a
credit made already, a wrong password or someone who is not a manager).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from central.audit import log as audit
from central.auth import console
from central.auth.principal import Principal, Role
from central.cash import recount, service, unapplied
from central.db.database import Database
from central.db.types import utcnow
from central.errors import InvalidRequest
from central.estate import settings as estate_settings
from central.ledger.plans import Context
from domain.money import Money

_BY = (
    "the manager who %s: their staff username; they sign in with their password "
    f"(asked for, or {console.PASSWORD_VARIABLE})"
)


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("cash", help="kiosk cash boxes: collections and the office's count")
    p_sub = p.add_subparsers(dest="cash_action", required=True, metavar="STEP")
    ls = p_sub.add_parser("collections", help="the cash boxes the kiosks had pulled, newest first")
    ls.add_argument("--open", action="store_true", help="only those still to count")
    ls.add_argument("--terminal", help="only this kiosk's")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    count = p_sub.add_parser(
        "count", help="enter the office's count of a collection (posted once, to the bank)"
    )
    count.add_argument("id", type=int, help="the collection's id (see: cash collections)")
    given = count.add_mutually_exclusive_group(required=True)
    given.add_argument(
        "--counts",
        help="pieces per denomination in minor units, e.g. 10000=3,5000=1 (three 100s, one 50)",
    )
    given.add_argument("--total", help="the counted total in minor units, e.g. 35000")
    count.add_argument("--by", required=True, help=_BY % "counts")
    count.add_argument("--json", action="store_true", help="machine-readable output")
    fix = p_sub.add_parser(
        "recount",
        help="correct a counted collection (a second person; the difference is posted)",
    )
    fix.add_argument("id", type=int, help="the collection's id (see: cash collections)")
    again = fix.add_mutually_exclusive_group(required=True)
    again.add_argument("--counts", help="the whole recount per denomination, e.g. 10000=3,5000=1")
    again.add_argument("--total", help="the recounted total in minor units, e.g. 35000")
    fix.add_argument(
        "--reason", required=True, help='what was found, e.g. "a 100 note stuck in the cassette"'
    )
    fix.add_argument("--by", required=True, help=_BY % "recounts (not who counted)")
    fix.add_argument("--json", action="store_true", help="machine-readable output")
    un = p_sub.add_parser(
        "unapplied", help="cash the kiosks took for top-ups the ledger refused, newest first"
    )
    un.add_argument("--open", action="store_true", help="only those not credited yet")
    un.add_argument("--terminal", help="only this kiosk's")
    un.add_argument("--json", action="store_true", help="machine-readable output")
    cr = p_sub.add_parser(
        "credit", help="credit a refused cash top-up's money into a wallet (posted once)"
    )
    cr.add_argument("terminal", help="the kiosk that took the cash")
    cr.add_argument("seq", type=int, help="its journal entry (see: cash unapplied)")
    cr.add_argument("--unit", required=True, help="the unit whose wallet gets the money")
    cr.add_argument("--wallet", required=True, help="the wallet, e.g. electricity")
    cr.add_argument("--by", required=True, help=_BY % "credits it")
    cr.add_argument("--json", action="store_true", help="machine-readable output")


def parse_counts(text: str) -> dict[str, int]:
    """``10000=3,5000=1`` -> ``{"10000": 3, "5000": 1}``; the service checks the figures."""
    out: dict[str, int] = {}
    for part in (p.strip() for p in text.split(",")):
        denomination, sep, pieces = part.partition("=")
        if (
            not sep
            or not (pieces.strip().isascii() and pieces.strip().isdigit())
            or not denomination.strip()
        ):
            raise InvalidRequest(
                f"{part!r} is not DENOMINATION=PIECES: write the count as --counts "
                "10000=3,5000=1 (denominations in minor units), or give --total",
                code="invalid_count",
            )
        if denomination.strip() in out:
            raise InvalidRequest(
                f"denomination {denomination.strip()} is given twice", code="invalid_count"
            )
        out[denomination.strip()] = int(pieces)
    return out


def _total(text: str) -> int:
    cleaned = text.strip()
    if not (cleaned.isascii() and cleaned.isdigit()):
        raise InvalidRequest(
            f"--total {text!r} is not a whole number of minor units (35000 for 350.00)",
            code="invalid_count",
        )
    return int(cleaned)


def _line(c: dict[str, Any]) -> str:
    def fmt(minor: int) -> str:
        return Money(minor, c["currency"]).format()

    counted = "-" if c["counted"] is None else fmt(c["counted"]["total"])
    return (
        f"{c['id']:<6}{c['terminal_id']:<20}{c['device']:<15}{c['period']:<7}"
        f"{c['collected_at'][:16].replace('T', ' '):<18}{fmt(c['expected']['total']):>16}"
        f"{counted:>16}  {c['status']:<9}{service.in_words(c['variance'], c['currency'])}"
    )


def _said(c: dict[str, Any]) -> str:
    """What a count came to, in words."""
    variance, currency = c["variance"], c["currency"]
    counted = Money(c["counted"]["total"], currency).format()
    expected = Money(c["expected"]["total"], currency).format()
    head = f"collection {c['id']} ({c['terminal_id']} {c['device']} period {c['period']}): "
    head += f"counted {counted}, the kiosk counted {expected}: "
    if variance == 0:
        head += "exact, no variance"
    else:
        head += f"{service.in_words(variance, currency)}, posted to {c['variance_account']}"
    if c["transaction_id"]:
        head += f"; {counted} to clearing:bank (transaction {c['transaction_id']})"
    return head


def _recounted(c: dict[str, Any]) -> str:
    """What a recount changed, in words."""
    last = c["recounts"][-1]
    currency = c["currency"]

    def fmt(minor: int) -> str:
        return Money(minor, currency).format()

    head = (
        f"collection {c['id']} recount {last['number']} by {last['by']}: "
        f"{fmt(last['previous']['total'])} -> {fmt(last['counted']['total'])}"
    )
    if last["transaction_id"]:
        side = "more" if last["change"] > 0 else "less"
        head += (
            f", {fmt(abs(last['change']))} {side} to clearing:bank "
            f"(transaction {last['transaction_id']})"
        )
    else:
        head += ", the same total: no money moved"
    return head + f"; now {service.in_words(c['variance'], currency)} against the kiosk's count"


def _unapplied_line(u: dict[str, Any]) -> str:
    amount = Money(u["amount"], u["currency"] or "").format()
    credited = "-" if u["credited"] is None else f"credited ({u['credited']['transaction_id']})"
    return (
        f"{u['terminal_id']:<20}{u['seq']:<8}{u['received_at'][:16].replace('T', ' '):<18}"
        f"{amount:>16}  {u['unit'] or '-':<10}{u['wallet'] or '-':<13}"
        f"{u['refused']['code'] or '-':<18}{credited}"
    )


def _as_manager(
    conn: Connection, username: str, password: str, key: str
) -> tuple[Principal, Context]:
    """The manager signed in, and the ledger context of what they do in this transaction."""
    who = console.sign_in(conn, username, password, role=Role.MANAGER)
    ctx = Context(
        estate=estate_settings.load(conn), idempotency_key=key, actor=who.actor, now=utcnow()
    )
    return who, ctx


def _audit(
    conn: Connection,
    who: Principal,
    action: str,
    subject: str,
    key: str,
    request: dict[str, Any],
    result: dict[str, Any],
) -> None:
    """The same audit entry the API writes for this action, in the same transaction."""
    audit.record(
        conn,
        who,
        action=action,
        subject=subject,
        after={"request": request, "result": result},
        idempotency_key=key,
    )


def _unapplied(db: Database, args: argparse.Namespace) -> int:
    if args.cash_action == "unapplied":
        with db.read() as conn:
            found = unapplied.list_unapplied(
                conn, terminal=args.terminal, open_only=args.open, limit=1000
            )
        if args.json:
            print(json.dumps(found, ensure_ascii=False, sort_keys=True))
            return 0
        if not found:
            print("no refused cash top-ups")
            return 0
        print(
            f"{'TERMINAL':<20}{'SEQ':<8}{'RECEIVED (UTC)':<18}{'AMOUNT':>16}  {'UNIT':<10}"
            f"{'WALLET':<13}{'REFUSED':<18}CREDIT"
        )
        for u in found:
            print(_unapplied_line(u))
        still = sum(u["credited"] is None for u in found)
        if still:
            print(
                f"{still} to credit: prepaid central cash credit TERMINAL SEQ "
                "--unit UNIT --wallet WALLET"
            )
        return 0
    password = console.password_for(args.by)
    key = unapplied.ledger_key(args.terminal, args.seq)
    with db.write() as conn:
        who, ctx = _as_manager(conn, args.by, password, key)
        done = unapplied.credit(
            conn, ctx, terminal_id=args.terminal, seq=args.seq, unit=args.unit, wallet=args.wallet
        )
        request = {"terminal": args.terminal, "seq": args.seq, "unit": args.unit}
        _audit(
            conn,
            who,
            "cash_credit",
            f"cash_unapplied:{args.terminal}:{args.seq}",
            key,
            {**request, "wallet": args.wallet},
            done,
        )
    if args.json:
        print(json.dumps(done, ensure_ascii=False, sort_keys=True))
    else:
        amount = Money(done["amount"], done["currency"]).format()
        print(
            f"{amount} of {done['terminal_id']}'s entry {done['seq']} credited to "
            f"{args.unit} {args.wallet} from {done['cash_box']} "
            f"(transaction {done['credited']['transaction_id']})"
        )
    return 0


def command(open_db: Callable[[], Database], args: argparse.Namespace) -> int:
    db = open_db()
    if args.cash_action in ("unapplied", "credit"):
        return _unapplied(db, args)
    if args.cash_action == "collections":
        with db.read() as conn:
            found = service.list_collections(
                conn, terminal=args.terminal, status="open" if args.open else None, limit=1000
            )
        if args.json:
            print(json.dumps(found, ensure_ascii=False, sort_keys=True))
            return 0
        if not found:
            print("no open cash collections" if args.open else "no cash collections yet")
            return 0
        print(
            f"{'ID':<6}{'TERMINAL':<20}{'DEVICE':<15}{'PERIOD':<7}{'COLLECTED (UTC)':<18}"
            f"{'KIOSK COUNTED':>16}{'OFFICE COUNTED':>16}  {'STATUS':<9}VARIANCE"
        )
        for c in found:
            print(_line(c))
        still = sum(c["status"] == "open" for c in found)
        if still:
            print(f"{still} to count: prepaid central cash count ID --counts 10000=3,5000=1")
        return 0
    if args.counts is not None:
        count = service.parse_count(counts=parse_counts(args.counts))
    else:
        count = service.parse_count(total=_total(args.total))
    subject = f"cash_collection:{args.id}"
    request: dict[str, Any] = {"id": args.id, "counts": args.counts, "total": args.total}
    if args.cash_action == "recount":
        reason = recount.parse_reason(args.reason)
        password = console.password_for(args.by)
        with db.write() as conn:
            who, ctx = _as_manager(conn, args.by, password, f"console-recount:{args.id}")
            done = recount.recount_collection(conn, ctx, args.id, count, reason)
            key = recount.ledger_key(args.id, done["counted"]["recount"])
            _audit(conn, who, "cash_recount", subject, key, {**request, "reason": reason}, done)
        print(
            json.dumps(done, ensure_ascii=False, sort_keys=True) if args.json else _recounted(done)
        )
        return 0
    password = console.password_for(args.by)
    with db.write() as conn:
        key = service.ledger_key(args.id)
        who, ctx = _as_manager(conn, args.by, password, key)
        counted = service.count_collection(conn, ctx, args.id, count)
        _audit(conn, who, "cash_count", subject, key, request, counted)
    if args.json:
        print(json.dumps(counted, ensure_ascii=False, sort_keys=True))
    else:
        print(_said(counted))
    return 0
