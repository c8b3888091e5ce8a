"""``prepaid demo``: the whole system on its embedded defaults.

Sets up a fresh demo estate on SQLite, starts the central server, walks through
a few operations over HTTP exactly as a client would, prints what the ledger
holds and a ready-to-paste request, and keeps serving until Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from domain.money import Money


def _step(text: str) -> None:
    print(f"\033[1m==>\033[0m {text}", flush=True)


def _call(
    base: str,
    method: str,
    path: str,
    token: str | None = None,
    body: Any = None,
    key: str | None = None,
) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if key:
        headers["Idempotency-Key"] = key
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as err:
        raise RuntimeError(f"{method} {path} answered {err.code}: {err.read().decode()}") from err


def _wait_ready(base: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _call(base, "GET", "/v1/health")
            return
        except (OSError, RuntimeError):
            time.sleep(0.1)
    raise RuntimeError(f"the server did not answer on {base} within {timeout:.0f} s")


def walkthrough(base: str, username: str, password: str) -> str:
    """What a manager would do first; returns the token it signed in with."""
    from domain.money import Money

    token = _call(
        base, "POST", "/v1/auth/token", body={"username": username, "password": password}
    )["access_token"]
    unit = "A-0101"
    wallets = _call(base, "GET", f"/v1/units/{unit}/wallets", token)
    _step(f"unit {unit} wallets:")
    for w in wallets:
        print(f"      {w['purpose']:<17} {Money(w['balance'], w['currency']).format():>14}")
    topped = _call(
        base,
        "POST",
        "/v1/ledger/top-ups",
        token,
        {
            "unit": unit,
            "wallet": "electricity",
            "amount": 10000,
            "currency": "CNY",
            "method": "cash",
            "source": "kiosk-lobby-a",
        },
        key=f"demo-topup-{secrets.token_hex(4)}",
    )
    after = topped["balances"][f"wallet:{unit}:electricity"]
    _step(f"cash top-up of 100.00 CNY at kiosk-lobby-a: electricity {Money(after, 'CNY').format()}")
    charged = _call(
        base,
        "POST",
        "/v1/ledger/charges",
        token,
        {
            "unit": unit,
            "wallet": "electricity",
            "amount": 1234,
            "currency": "CNY",
            "memo": "demo usage 21.3 kWh",
        },
        key=f"demo-charge-{secrets.token_hex(4)}",
    )
    after = charged["balances"][f"wallet:{unit}:electricity"]
    _step(f"electricity charge of 12.34 CNY: electricity now {Money(after, 'CNY').format()}")
    report = _call(base, "GET", "/v1/ledger/check", token)
    _step(
        f"ledger check: {report['transactions']} transactions, {report['postings']} postings, "
        f"{'all balanced' if report['ok'] else 'PROBLEMS: ' + str(report['problems'])}"
    )
    return str(token)


def kiosk_walkthrough(base: str, token: str, directory: Path) -> None:
    """The lobby kiosk with simulated devices, in its own process as on a terminal,
    then the back office's count of the cash box it pulled."""
    offscreen = not has_display()
    _step(
        "lobby kiosk with simulated devices: a card tap, two notes and a coin, a receipt; "
        "then technician mode (five taps on the estate's name, PIN 2468) and the bill "
        "cassette pulled"
        + (" (no display: offscreen, a screenshot of each screen)" if offscreen else "")
    )
    # The manager makes a one-time enrolment code; the kiosk spends it on a key pair of
    # its own and signs every request as itself (no staff token on a terminal).
    code = _call(
        base,
        "POST",
        "/v1/terminals/enrolment-codes",
        token,
        body={"terminal_type": "kiosk", "location": "Lobby A"},
    )["code"]
    _step("kiosk enrolled with a one-time code from the manager")
    command = [sys.executable, "-m", "cli.main", "kiosk", "walkthrough"]
    # "--code=..." : a code may begin with "-", which argparse would take for an option.
    command += ["--server", base, f"--code={code}", "--dir", str(directory)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the kiosk walk-through failed:\n{done.stdout}{done.stderr[-3000:]}")
    for line in done.stdout.splitlines():
        print(f"      {line}")
    from domain.money import Money
    from kiosk.terminal import load

    counted = cash_count(base, token, load(directory / "terminal")[0].terminal_id)
    cash_recount(base, token, counted)
    for w in _call(base, "GET", "/v1/units/A-0101/wallets", token):
        if w["purpose"] == "electricity":
            balance = Money(w["balance"], w["currency"]).format()
            _step(f"the ledger now holds: A-0101 electricity {balance}")


def cash_count(base: str, token: str, kiosk: str) -> dict[str, Any]:
    """The back office counts the kiosk's pulled cash box: one note fewer than the
    kiosk counted, so the short is posted to variance:cash. Returns the collection."""
    from urllib.parse import quote

    from central.cash.service import in_words

    found = _call(base, "GET", f"/v1/cash/collections?terminal={quote(kiosk)}&status=open", token)
    if not found:
        raise RuntimeError(f"the server holds no open cash collection of {kiosk}")
    _step(f"open cash collections of {kiosk}:")
    for c in found:
        notes = ", ".join(
            f"{n} x {Money(int(d), c['currency']).format()}"
            for d, n in c["expected"]["counts"].items()
        )
        print(
            f"      collection {c['id']}: {c['device']} period {c['period']}, the kiosk "
            f"counted {Money(c['expected']['total'], c['currency']).format()} ({notes})"
        )
    collection = found[0]
    expected = {int(d): n for d, n in collection["expected"]["counts"].items()}
    # The office finds the smallest note missing: short by it.
    counted = dict(expected)
    smallest = min(d for d, n in expected.items() if n > 0) if expected else 0
    if smallest:
        counted[smallest] -= 1
    answer = _call(
        base,
        "POST",
        f"/v1/cash/collections/{collection['id']}/count",
        token,
        {"counts": {str(d): n for d, n in sorted(counted.items()) if n}},
        key=f"demo-cash-count-{secrets.token_hex(4)}",
    )
    currency = answer["currency"]

    def fmt(minor: int) -> str:
        return Money(minor, currency).format()

    said = (
        f"back office counted {fmt(answer['counted']['total'])} of the kiosk's "
        f"{fmt(answer['expected']['total'])}: {in_words(answer['variance'], currency)}"
    )
    said += f", posted to {answer['variance_account']}" if answer["variance"] else ", no variance"
    _step(f"{said}; {fmt(answer['counted']['total'])} to clearing:bank")
    if answer["transaction_id"]:
        _show_transaction(base, token, answer["transaction_id"], currency)
    return dict(answer)


def cash_recount(base: str, token: str, collection: dict[str, Any]) -> dict[str, Any]:
    """A second manager finds the missing note stuck in the cassette and corrects the
    count: the difference moves from variance:cash to clearing:bank, and the first
    count stays on record. A count is never corrected by whoever made it."""
    from domain.money import Money

    if not collection["variance"]:
        return collection
    username, password = "wu.min", secrets.token_urlsafe(16)
    _call(
        base,
        "POST",
        "/v1/staff",
        token,
        {"username": username, "password": password, "role": "manager"},
        key=f"demo-staff-{secrets.token_hex(4)}",
    )
    second = _call(
        base, "POST", "/v1/auth/token", body={"username": username, "password": password}
    )["access_token"]
    answer = _call(
        base,
        "POST",
        f"/v1/cash/collections/{collection['id']}/recount",
        second,
        {
            "counts": collection["expected"]["counts"],
            "reason": "the missing note was found stuck in the cassette",
        },
        key=f"demo-cash-recount-{secrets.token_hex(4)}",
    )
    fix = answer["recounts"][-1]
    currency = answer["currency"]

    def fmt(minor: int) -> str:
        return Money(minor, currency).format()

    _step(
        f"{fix['by']} recounted collection {answer['id']} ({fix['reason']}): "
        f"{fmt(fix['previous']['total'])} -> {fmt(fix['counted']['total'])}, now "
        f"{'exact' if not answer['variance'] else answer['result']}; the first count stays "
        "on record, and its counter could not have corrected it"
    )
    if fix["transaction_id"]:
        _show_transaction(base, token, fix["transaction_id"], currency)
    return dict(answer)


def _show_transaction(base: str, token: str, transaction_id: str, currency: str) -> None:
    """One posted transaction's legs, signed, on one line."""
    from domain.money import Money

    posted = _call(base, "GET", f"/v1/ledger/transactions/{transaction_id}", token)
    legs = ", ".join(
        f"{p['account']} {'+' if p['amount'] > 0 else ''}{Money(p['amount'], currency).format()}"
        for p in posted["postings"]
    )
    print(f"      transaction {transaction_id}: {legs}")


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def interactive_kiosk(base: str, directory: Path) -> subprocess.Popen[str] | None:
    """With a display: the kiosk's window and the simulator panel, for a person to try.

    It reuses the walk-through's enrolled identity and journal (a journal never
    changes hands), so what was credited there is on its receipts here too."""
    journals = sorted(directory.glob("journal-*.sqlite3"))
    if not journals:
        _step("the kiosk window is not opened: the walk-through left no enrolled kiosk")
        return None
    command = [
        sys.executable, "-m", "cli.main", "kiosk", "run", "--simulated", "--panel",
        "--server", base, "--state", str(directory / "terminal"), "--journal", str(journals[-1]),
    ]  # fmt: skip
    _step(
        "kiosk window and simulator panel open: tap the demo card, insert notes and coins, "
        "jam the acceptor or run the printer out of paper from the panel; "
        "technician mode: five taps on the estate's name, PIN "
        f"{os.environ.get('PREPAID_KIOSK_PIN', '2468')} (log: {directory}/kiosk.log)"
    )
    log = (directory / "kiosk.log").open("a")  # the kiosk's own log, not mixed into the demo's
    env = {**os.environ, "PREPAID_KIOSK_PIN": os.environ.get("PREPAID_KIOSK_PIN", "2468")}
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, text=True, env=env)


LOW_UNIT = "A-1202"  # the demo leaves this unit's electricity nearly empty: watch it cut off

RESTORE_BODY = (
    '{"unit": "%s", "wallet": "electricity", "amount": 10000, '
    '"currency": "CNY", "method": "staff_desk"}'
)


def meter_fleet(base: str, token: str, *, steps: int) -> subprocess.Popen[str]:
    """The simulated meter fleet in its own process, reporting over HTTP.

    One simulated hour passes each second, so A-1202's nearly empty electricity
    wallet runs into its emergency credit and is cut off within a few minutes,
    and a top-up restores it."""
    command = [
        sys.executable, "-m", "cli.main", "sim", "meters", "--count", "144",
        "--server", base, f"--token={token}", "--speed", "3600", "--interval", "900",
        "--steps", str(steps),
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="prepaid demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--dir", type=Path, default=Path("var/demo"), help="where the demo keeps its data"
    )
    parser.add_argument("--port", type=int, default=8470)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--exit-after-walkthrough",
        action="store_true",
        help="stop after the walk-through (for tests)",
    )
    parser.add_argument(
        "--no-kiosk", action="store_true", help="skip the lobby kiosk's walk-through"
    )
    args = parser.parse_args(list(argv))

    import uvicorn
    from sqlalchemy import select

    from central import logs
    from central.api.app import create_app
    from central.auth.principal import Role
    from central.auth.staff import create_staff
    from central.db.database import Database
    from central.db.schema import accounts
    from central.estate.demo import seed
    from central.estate.settings import load as ESTATE_OF
    from central.ledger.operations import Context, charge
    from central.metering import demo as meters_demo
    from central.settings import Settings

    logs.configure("WARNING")
    with socket.socket() as probe:
        try:
            probe.bind((args.host, args.port))
        except OSError:
            print(f"port {args.port} on {args.host} is in use: stop what uses it, or pass --port")
            return 2
    if args.dir.exists():
        shutil.rmtree(args.dir)
    args.dir.mkdir(parents=True)
    url = f"sqlite:///{args.dir / 'central.sqlite3'}"
    _step(f"setting up the demo estate in {args.dir}/ (SQLite, simulated hardware, no broker)")
    db = Database.open(url)
    password = secrets.token_urlsafe(12)
    with db.write() as conn:
        summary = seed(conn)
        create_staff(conn, username="manager", password=password, role=Role.MANAGER)
        meter_count = meters_demo.seed(conn, installed_at=datetime.now(UTC) - timedelta(hours=1))
        # Leave one household's electricity nearly empty, so the fleet's readings run
        # it into its emergency credit and a cut-off can be watched.
        low = conn.execute(
            select(accounts.c.balance).where(accounts.c.code == f"wallet:{LOW_UNIT}:electricity")
        ).scalar_one()
        if low > 50:
            charge(
                conn,
                Context(ESTATE_OF(conn), "demo:nearly-empty", "system:demo"),
                unit=LOW_UNIT,
                purpose="electricity",
                amount=low - 50,
                currency="CNY",
                memo="demo: leave 0.50 CNY",
            )
    _step(
        f"demo estate 'Harbour View Gardens': {summary.units} units in 2 towers, "
        f"{summary.residents} residents, {summary.cards} cards, {summary.plates} plates"
    )

    settings = Settings(database_url=url, host=args.host, port=args.port)
    app = create_app(settings, db)
    server = uvicorn.Server(
        uvicorn.Config(app, host=args.host, port=args.port, log_config=None, access_log=False)
    )
    base = f"http://{args.host}:{args.port}"
    outcome: dict[str, Any] = {}

    def drive() -> None:
        try:
            _wait_ready(base)
            _step(f"central server on {base}  (API docs: {base}/docs)")
            token = walkthrough(base, "manager", password)
            outcome["token"] = token
            if not args.no_kiosk:
                kiosk_walkthrough(base, token, args.dir / "kiosk")
                if has_display() and not args.exit_after_walkthrough:
                    outcome["kiosk"] = interactive_kiosk(base, args.dir / "kiosk")
            fleet = meter_fleet(base, token, steps=4 if args.exit_after_walkthrough else 0)
            outcome["fleet"] = fleet
            _step(
                f"meter fleet: {meter_count} simulated meters report every 15 simulated minutes "
                "(an hour a second); usage is priced and deducted as it arrives"
            )
            if args.exit_after_walkthrough:
                fleet.wait(timeout=120)
                charged = _call(base, "GET", "/v1/units/A-0101/wallets", token)
                _step(
                    "after the fleet's first readings: A-0101 electricity "
                    + next(
                        Money(w["balance"], w["currency"]).format()
                        for w in charged
                        if w["purpose"] == "electricity"
                    )
                )
            else:
                print(
                    f"      {LOW_UNIT} has 0.50 CNY of electricity left: within a few minutes it "
                    "runs into its emergency credit and is cut off; watch with\n"
                    f"      curl -s -H 'Authorization: Bearer {token}' "
                    f"{base}/v1/metering/supply/events\n"
                    "      then top it up and watch the restore:\n"
                    f"      curl -s -X POST {base}/v1/ledger/top-ups "
                    f"-H 'Authorization: Bearer {token}' -H 'Idempotency-Key: restore-1' "
                    "-H 'Content-Type: application/json' "
                    f"-d '{RESTORE_BODY % LOW_UNIT}'"
                )
            print()
            print(f"  manager login: manager / {password}")
            print("  try it:")
            print(f"    curl -s -H 'Authorization: Bearer {token}' {base}/v1/units/A-0101/wallets")
            print(
                f"    PREPAID_DATABASE_URL={url} .venv/bin/prepaid central statement "
                "A-0101 electricity --from 2026-01-01 --to 2030-12-31"
            )
            print()
            if args.exit_after_walkthrough:
                server.should_exit = True
            else:
                _step("serving; press Ctrl-C to stop")
        except Exception as err:  # the demo must say what went wrong, then stop
            outcome["error"] = err
            print(f"demo failed: {err}", flush=True)
            server.should_exit = True

    threading.Thread(target=drive, daemon=True).start()
    server.run()
    for name in ("kiosk", "fleet"):
        process = outcome.get(name)
        if process is not None and process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
    db.close()
    return 1 if "error" in outcome else 0
