"""``prepaid central``: set up, serve and inspect the central server."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import secrets
import sys
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from central.cash import cli as cash_cli
from central.fees import cli as fees_cli
from central.metering import cli as metering_cli
from central.parking import cli as parking_cli
from central.payments import cli as payments_cli
from central.settings import Settings, SettingsError

if TYPE_CHECKING:
    from central.db.database import Database


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="prepaid central",
        description="The central server. The database comes from PREPAID_DATABASE_URL "
        "(default: SQLite in var/prepaid.sqlite3).",
    )
    p.add_argument("--database-url", help="overrides PREPAID_DATABASE_URL")
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")

    init = sub.add_parser("init", help="create the database, the estate and the first manager")
    init.add_argument("--name", required=True, help="the estate's name")
    init.add_argument("--legal-name", help="the company name printed on receipts")
    init.add_argument("--tax-number", default="")
    init.add_argument(
        "--phone", default="", help="the office's phone, shown when a terminal is out of service"
    )
    init.add_argument("--currency", default="CNY", help="ISO 4217 code, set once (default CNY)")
    init.add_argument("--timezone", default="Asia/Shanghai", help="IANA zone, set once")
    init.add_argument("--locale", default="zh_CN")
    init.add_argument(
        "--emergency-credit", type=int, default=2000, help="minor units utilities may go below zero"
    )
    init.add_argument("--manager", default="manager", help="the first manager's username")
    init.add_argument(
        "--password",
        help="the first manager's password (default: PREPAID_MANAGER_PASSWORD, else asked, "
        "else generated and printed once)",
    )

    serve = sub.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", help="default PREPAID_HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, help="default PREPAID_PORT or 8470")

    sub.add_parser(
        "check", help="recompute every balance and verify every transaction sums to zero"
    )

    st = sub.add_parser("statement", help="a wallet's statement over a period")
    st.add_argument("unit", help="unit code, e.g. A-0101")
    st.add_argument("wallet", help="electricity, water, gas, parking, property_fee, ...")
    st.add_argument("--from", dest="period_from", type=date.fromisoformat, required=True)
    st.add_argument("--to", dest="period_to", type=date.fromisoformat, required=True)
    st.add_argument("--json", action="store_true", help="machine-readable output")

    sub.add_parser("seed-demo", help="create the demo estate (48 units) in an empty database")

    imp = sub.add_parser("import", help="import units, residents, credentials or vehicles from CSV")
    imp.add_argument("kind", choices=["units", "residents", "credentials", "vehicles"])
    imp.add_argument("file", type=argparse.FileType("r", encoding="utf-8-sig"))

    exp = sub.add_parser("export", help="export units, residents, credentials or vehicles as CSV")
    exp.add_argument("kind", choices=["units", "residents", "credentials", "vehicles"])
    exp.add_argument("--output", "-o", type=argparse.FileType("w", encoding="utf-8"), default="-")

    _terminals_parser(sub)

    token = sub.add_parser("token", help="issue a bearer token for a staff member (for scripts)")
    token.add_argument("username", help="asked for their password, or PREPAID_STAFF_PASSWORD")
    fees_cli.add_parsers(sub)
    metering_cli.add_parsers(sub)
    parking_cli.add_parsers(sub)
    payments_cli.add_parsers(sub)
    cash_cli.add_parsers(sub)
    return p


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    if args.action == "fund" and args.fund_action == "verify":  # an owner's check: no database
        return fees_cli.verify(args.statement, args.previous)
    try:
        settings = Settings.from_env()
    except SettingsError as err:
        print(f"configuration error: {err}", file=sys.stderr)
        return 2
    if args.database_url:
        settings = Settings(**{**settings.__dict__, "database_url": args.database_url})

    from central import logs

    logs.configure(settings.log_level, json_lines=settings.log_json)
    from central.errors import CentralError

    try:
        handler = {
            "init": _init,
            "serve": _serve,
            "check": _check,
            "statement": _statement,
            "seed-demo": _seed_demo,
            "token": _token,
            "terminals": _terminals,
            "fees": lambda s, a: fees_cli.fees_command(_open(s), a),
            "fund": lambda s, a: fees_cli.fund_command(lambda: _open(s), a),
            "meters": lambda s, a: metering_cli.command(lambda: _open(s), a),
            "parking": lambda s, a: parking_cli.command(lambda: _open(s), a),
            "payments": lambda s, a: payments_cli.command(lambda: _open(s), a),
            "cash": lambda s, a: cash_cli.command(lambda: _open(s), a),
            "import": _import,
            "export": _export,
        }[args.action]
        return handler(settings, args)
    except CentralError as err:
        print(f"error ({err.code}): {err.message}", file=sys.stderr)
        return 1


def _open(settings: Settings) -> Database:
    from central.db.database import Database

    return Database.open(settings.database_url)


def _init(settings: Settings, args: argparse.Namespace) -> int:
    from central.auth.principal import Role
    from central.auth.staff import create_staff
    from central.estate.settings import Estate, create

    password = args.password or os.environ.get("PREPAID_MANAGER_PASSWORD")
    generated = False
    if not password and sys.stdin.isatty():
        password = getpass.getpass(f"password for manager {args.manager!r} (10+ characters): ")
    if not password:
        password, generated = secrets.token_urlsafe(12), True
    db = _open(settings)
    with db.write() as conn:
        create(
            conn,
            Estate(
                name=args.name,
                legal_name=args.legal_name or args.name,
                tax_number=args.tax_number,
                phone=args.phone,
                currency=args.currency.upper(),
                timezone=args.timezone,
                locale=args.locale,
                emergency_credit=args.emergency_credit,
            ),
        )
        create_staff(conn, username=args.manager, password=password, role=Role.MANAGER)
    print(f"estate {args.name!r} set up in {settings.database_url}")
    print(f"manager: {args.manager}")
    if generated:
        print(f"password (shown once, keep it safe): {password}")
    return 0


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from central.api.app import create_app

    host = args.host or settings.host
    port = args.port or settings.port
    app = create_app(settings, _open(settings))
    print(
        f"prepaid central server on http://{host}:{port} (OpenAPI: /docs, /openapi.json)",
        flush=True,
    )
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)
    return 0


def _check(settings: Settings, args: argparse.Namespace) -> int:
    from central.ledger.check import check

    with _open(settings).read() as conn:
        report = check(conn)
    print(
        f"checked {report.transactions} transactions, {report.postings} postings, "
        f"{report.accounts} accounts"
    )
    for problem in report.problems:
        print(f"PROBLEM {problem.kind} {problem.subject}: {problem.detail}")
    if report.ok:
        print("ok: every transaction balances and every balance equals its postings")
        return 0
    print(f"{len(report.problems)} problem(s) found", file=sys.stderr)
    return 1


def _statement(settings: Settings, args: argparse.Namespace) -> int:
    from central.estate.settings import load
    from central.ledger.statements import statement
    from domain.money import Money

    with _open(settings).read() as conn:
        estate = load(conn)
        st = statement(
            conn,
            unit=args.unit,
            purpose=args.wallet,
            period_from=args.period_from,
            period_to=args.period_to,
            zone=estate.zone,
        )
    if args.json:
        print(
            json.dumps(
                {
                    "wallet": st.wallet,
                    "currency": st.currency,
                    "timezone": st.timezone,
                    "from": st.period_from.isoformat(),
                    "to": st.period_to.isoformat(),
                    "opening": st.opening,
                    "closing": st.closing,
                    "lines": [
                        {
                            "transaction_id": line.transaction_id,
                            "at": line.at.isoformat(),
                            "kind": line.kind,
                            "memo": line.memo,
                            "amount": line.amount,
                            "balance": line.balance,
                        }
                        for line in st.lines
                    ],
                },
                indent=2,
            )
        )
        return 0

    def fmt(minor: int) -> str:
        return Money(minor, st.currency).format()

    print(f"Statement of {st.wallet}, {st.period_from} to {st.period_to} ({st.timezone})")
    print(f"{'opening balance':<58}{fmt(st.opening):>20}")
    for line in st.lines:
        print(
            f"{line.at:%Y-%m-%d %H:%M}  {line.kind:<10} {line.memo[:24]:<24} "
            f"{fmt(line.amount):>16} {fmt(line.balance):>16}"
        )
    print(f"{'closing balance':<58}{fmt(st.closing):>20}")
    return 0


def _seed_demo(settings: Settings, args: argparse.Namespace) -> int:
    from central.estate.demo import seed
    from domain.money import Money

    with _open(settings).write() as conn:
        summary = seed(conn)
    print(
        f"demo estate: {summary.units} units, {summary.residents} residents, "
        f"{summary.cards} cards, {summary.plates} plates, "
        f"opening balances {Money(summary.opening_total, 'CNY').format()}"
    )
    return 0


def _token(settings: Settings, args: argparse.Namespace) -> int:
    from central.auth.console import password_for
    from central.auth.staff import issue_token

    password = password_for(args.username)
    with _open(settings).write() as conn:
        token, _ttl = issue_token(
            conn, username=args.username, password=password, ttl_s=settings.token_ttl_s
        )
    print(token)
    return 0


def _import(settings: Settings, args: argparse.Namespace) -> int:
    from central.estate.csv_io import ImportRefused, import_csv

    text = args.file.read()
    try:
        with _open(settings).write() as conn:
            count = import_csv(conn, args.kind, text)
    except ImportRefused as err:
        print(
            f"{args.file.name}: {len(err.problems)} bad row(s); nothing was imported",
            file=sys.stderr,
        )
        for problem in err.problems:
            print(f"  line {problem.line}: {problem.reason}", file=sys.stderr)
        return 1
    print(f"imported {count} {args.kind} from {args.file.name}")
    return 0


def _export(settings: Settings, args: argparse.Namespace) -> int:
    from central.estate.csv_io import export_csv

    with _open(settings).read() as conn:
        args.output.write(export_csv(conn, args.kind))
    return 0


def _terminals_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    t = sub.add_parser(
        "terminals", help="the terminal fleet: list, enrolment codes, decommission, revoke"
    )
    t_sub = t.add_subparsers(dest="terminals_action", metavar="WHAT")
    ls = t_sub.add_parser("list", help="every terminal: online, degraded or offline (default)")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    code = t_sub.add_parser("code", help="a one-time enrolment code (text and QR)")
    code.add_argument(
        "--type",
        dest="terminal_type",
        required=True,
        choices=("kiosk", "gate", "turnstile", "meter-gateway"),
    )
    code.add_argument("--location", required=True, help='where it stands, e.g. "Tower A lobby"')
    code.add_argument("--hours", type=float, default=24, help="valid for (default 24)")
    code.add_argument("--server", help="the server URL the terminal uses (put into the QR)")
    code.add_argument("--by", default="manager", help="who asked for it (recorded)")
    code.add_argument("--qr", help="also save the QR code to this .png or .svg file")
    code.add_argument("--no-qr", action="store_true", help="do not draw the QR in the terminal")
    dec = t_sub.add_parser(
        "decommission", help="start nothing new; accept its journal; then its key dies"
    )
    dec.add_argument("terminal_id")
    dec.add_argument("--last-entry", type=int, help="its last journal sequence number")
    rev = t_sub.add_parser("revoke", help="kill a terminal's keys at once (stolen, compromised)")
    rev.add_argument("terminal_id")


def _terminals(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import timedelta

    from central.terminals import enrolment, health, lifecycle

    action = args.terminals_action or "list"
    db = _open(settings)
    if action == "code":
        with db.write() as conn:
            code = enrolment.create_code(
                conn,
                terminal_type=args.terminal_type,
                location=args.location,
                created_by=f"staff:{args.by}",
                ttl=timedelta(hours=args.hours),
            )
        print(f"enrolment code: {code.code}")
        print(f"for a {code.terminal_type} at {code.location}; single use")
        print(f"expires: {code.expires_at:%Y-%m-%d %H:%M} UTC")
        qr = code.qr(args.server)
        if not args.no_qr:
            qr.terminal(compact=True)
        if args.qr:
            qr.save(args.qr, scale=8)
            print(f"QR code saved to {args.qr}")
        server = args.server or "URL"
        print(f"on the terminal: prepaid provision enroll --server {server} --code {code.code}")
        return 0
    if action in ("decommission", "revoke"):
        with db.write() as conn:
            if action == "revoke":
                state = lifecycle.revoke(conn, args.terminal_id)
            else:
                state = lifecycle.decommission(conn, args.terminal_id, last_entry=args.last_entry)
        print(json.dumps(state, indent=2))
        return 0
    with db.read() as conn:
        fleet = health.fleet(conn)
    if getattr(args, "json", False):
        print(json.dumps([t.as_dict() for t in fleet], indent=2))
        return 0
    if not fleet:
        print("no terminals enrolled ('prepaid central terminals code' makes an enrolment code)")
        return 0
    print(f"{'TERMINAL':<20}{'STATE':<10}{'LAST HEARTBEAT':<22}{'CONFIG':<8}{'LOCATION':<24}WHY")
    for t in fleet:
        seen = (t.last_heartbeat_at or "never")[:19].replace("T", " ")
        config = f"{t.config_version_acked or '-'}/{t.config_version_latest}"
        why = "; ".join(t.reasons)
        print(f"{t.terminal_id:<20}{t.state:<10}{seen:<22}{config:<8}{t.location[:23]:<24}{why}")
    counts = {s: sum(t.state == s for t in fleet) for s in ("online", "degraded", "offline")}
    print(", ".join(f"{n} {s}" for s, n in counts.items()))
    return 0
