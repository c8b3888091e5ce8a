"""The built-in sandbox payment provider, run as its own process.

    python -m kiosk.sandbox_provider --port 8480 --secret-hex 00ff...

Merchant API: ``POST /orders`` (idempotent by ``order_id``), ``POST
/orders/{id}/cancel`` (answers ``paid`` when the money came first),
``GET /orders/{id}``. Sandbox controls, standing in for the resident's banking
app: ``POST /orders/{id}/pay`` with ``{"callback_delay": seconds}`` pays the
order (even a cancelled one: "the resident paid as the kiosk gave up", which a
real provider settles by refunding or by the late credit the kiosk makes) and
sends the signed callback after the delay, retrying until it is answered 200;
``POST /orders/{id}/replay`` sends the last callback again, byte for byte.
Callbacks are signed by :func:`kiosk.payments.signed_headers`.

Refunds (the merchant's signed call, same HMAC scheme as callbacks): ``POST
/refunds`` with ``{"refund_id", "order_id", "amount"}``. Idempotent by
``refund_id`` (the same id with the same order and amount answers the first
result again; with another body it is a 409); refuses an order that is not
paid and more than was paid in total (409). ``GET /orders/{id}`` lists the
order's refunds. Sandbox control: ``POST /control/lose-next-refund-answer``
makes the next refund be applied and its answer lost (the connection closes),
as a network cut after the provider acted would.

Settlement (the merchant's signed ``GET /settlements/YYYY-MM-DD``, signed over
``GET <path>``): the day's file in :mod:`domain.settlement_file`'s format, one
line per payment and refund of that day in the provider's time zone
(``--timezone``, default Asia/Shanghai), a fee of ``--fee-bp`` basis points of
each (default 60, 0.6%; a refund hands back the fee of the part refunded),
signed with the shared secret. ``POST /orders/{id}/pay`` with
``{"settle_amount": N}`` makes the provider settle N instead of what was paid
(its own error, or a charge-back), for testing a reconciliation.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import secrets
import threading
import time
from collections.abc import Sequence
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

import requests

from domain import settlement_file
from kiosk.payments import CallbackVerifier, signed_headers

ORDER_PATH = re.compile(r"^/orders/([A-Za-z0-9._:-]+)(/cancel|/pay|/replay)?$")
SETTLEMENT_PATH = re.compile(r"^/settlements/(\d{4}-\d{2}-\d{2})$")


def fee_of(amount: int, basis_points: int) -> int:
    """The provider's fee on ``amount`` (negative for a refund), rounded half up."""
    fee = (abs(amount) * basis_points + 5000) // 10000
    return fee if amount >= 0 else -fee


class Sandbox:
    def __init__(
        self,
        secret: bytes,
        *,
        merchant: str = "sandbox-merchant",
        timezone: str = "Asia/Shanghai",
        fee_bp: int = 60,
    ) -> None:
        self.secret = secret
        self.merchant = merchant
        self.zone = ZoneInfo(timezone)
        self.fee_bp = fee_bp
        self.orders: dict[str, dict[str, Any]] = {}
        self.last_callback: dict[str, tuple[bytes, dict[str, str]]] = {}
        self.lock = threading.Lock()
        self.verifier = CallbackVerifier(secret)
        self.refunds: dict[str, dict[str, Any]] = {}
        self.lose_next_refund_answer = False

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            order = self.orders.get(body["order_id"])
            if order is None:
                order = {
                    "order_id": body["order_id"],
                    "amount": int(body["amount"]),
                    "currency": body["currency"],
                    "notify_url": body["notify_url"],
                    "status": "open",
                    "qr": f"https://sandbox.pay.example/q/{secrets.token_urlsafe(12)}",
                    "ref": "",
                    "refunds": [],
                }
                self.orders[order["order_id"]] = order
            return dict(order)

    def cancel(self, order_id: str) -> dict[str, Any]:
        with self.lock:
            order = self.orders[order_id]
            if order["status"] == "open":
                order["status"] = "cancelled"
            return dict(order)

    def pay(self, order_id: str, delay: float, settle_amount: int | None = None) -> dict[str, Any]:
        with self.lock:
            order = self.orders[order_id]
            if order["status"] != "paid":
                order["paid_at"] = time.time()
            order["status"] = "paid"
            order["ref"] = order["ref"] or f"sbx-{secrets.token_hex(6)}"
            if settle_amount is not None:
                order["settle_amount"] = settle_amount
            payload = {k: order[k] for k in ("order_id", "amount", "currency", "status", "ref")}
        body = json.dumps(payload, sort_keys=True).encode()
        threading.Thread(
            target=self._notify, args=(order, body, delay), name="sandbox-callback", daemon=True
        ).start()
        return dict(order)

    def _notify(self, order: dict[str, Any], body: bytes, delay: float) -> None:
        time.sleep(delay)
        for attempt in range(20):
            headers = signed_headers(self.secret, body)
            self.last_callback[order["order_id"]] = (body, headers)
            try:
                answer = requests.post(order["notify_url"], data=body, headers=headers, timeout=3)
                if answer.status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(min(5.0, 0.2 * 2**attempt))

    def refund(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        refund_id, order_id, amount = str(body["refund_id"]), str(body["order_id"]), body["amount"]
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            return 400, {"error": "amount must be a positive integer in minor units"}
        with self.lock:
            done = self.refunds.get(refund_id)
            if done is not None:
                if (done["order_id"], done["amount"]) != (order_id, amount):
                    return 409, {"error": f"refund {refund_id} was made with another body"}
                return 200, dict(done)
            order = self.orders.get(order_id)
            if order is None:
                return 404, {"error": f"no such order {order_id}"}
            if order["status"] != "paid":
                return 409, {"error": f"order {order_id} is {order['status']}, not paid"}
            refunded = sum(r["amount"] for r in order["refunds"])
            if refunded + amount > order["amount"]:
                return 409, {
                    "error": f"order {order_id} was paid {order['amount']} and "
                    f"{refunded} is refunded already: {amount} more is too much",
                    "refundable": order["amount"] - refunded,
                }
            done = {
                "refund_id": refund_id,
                "order_id": order_id,
                "amount": amount,
                "currency": order["currency"],
                "status": "refunded",
                "at": time.time(),
            }
            self.refunds[refund_id] = done
            order["refunds"].append(done)
            return 200, dict(done)

    def settlement(self, day: date) -> bytes:
        """The signed settlement file of ``day`` (the provider's local day)."""

        def local(at: float) -> datetime:
            return datetime.fromtimestamp(at, self.zone)

        lines: list[tuple[float, settlement_file.Line]] = []
        with self.lock:
            for order in self.orders.values():
                if order["status"] == "paid" and local(order["paid_at"]).date() == day:
                    gross = int(order.get("settle_amount", order["amount"]))
                    fee = fee_of(gross, self.fee_bp)
                    line = settlement_file.Line(
                        0, "payment", local(order["paid_at"]).isoformat(timespec="seconds"),
                        order["order_id"], "", order["ref"], gross, fee, gross - fee,
                    )  # fmt: skip
                    lines.append((order["paid_at"], line))
            for refund in self.refunds.values():
                if local(refund["at"]).date() == day:
                    gross = -int(refund["amount"])
                    fee = fee_of(gross, self.fee_bp)
                    line = settlement_file.Line(
                        0, "refund", local(refund["at"]).isoformat(timespec="seconds"),
                        refund["order_id"], refund["refund_id"], "", gross, fee, gross - fee,
                    )  # fmt: skip
                    lines.append((refund["at"], line))
        return settlement_file.render(
            settlement_id=f"stl-{self.merchant}-{day.strftime('%Y%m%d')}",
            merchant=self.merchant,
            day=day,
            timezone=str(self.zone),
            currency=next((o["currency"] for o in self.orders.values()), "CNY"),
            lines=[line for _, line in sorted(lines, key=lambda pair: pair[0])],
            secret=self.secret,
            timestamp=int(time.time()),
            nonce=secrets.token_hex(12),
        )

    def replay(self, order_id: str) -> int:
        body, headers = self.last_callback[order_id]
        url = self.orders[order_id]["notify_url"]
        return requests.post(url, data=body, headers=headers, timeout=3).status_code


def serve(sandbox: Sandbox, host: str, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, data: Any) -> None:
            raw = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            data: dict[str, Any] = json.loads(self.rfile.read(length) or b"{}")
            return data

        def do_GET(self) -> None:
            settles = SETTLEMENT_PATH.match(self.path)
            if settles:
                self._settlement(settles.group(1))
                return
            match = ORDER_PATH.match(self.path)
            if not match or match.group(2) or match.group(1) not in sandbox.orders:
                self._answer(404, {"error": "no such order"})
                return
            self._answer(200, sandbox.orders[match.group(1)])

        def do_POST(self) -> None:
            try:
                if self.path == "/refunds":
                    self._refund()
                    return
                if self.path == "/control/lose-next-refund-answer":
                    sandbox.lose_next_refund_answer = True
                    self._answer(200, {"armed": True})
                    return
                body = self._body()
                if self.path == "/orders":
                    self._answer(200, sandbox.create(body))
                    return
                match = ORDER_PATH.match(self.path)
                if not match or match.group(1) not in sandbox.orders:
                    self._answer(404, {"error": "no such order"})
                    return
                order_id, action = match.group(1), match.group(2)
                if action == "/cancel":
                    self._answer(200, sandbox.cancel(order_id))
                elif action == "/pay":
                    delay = float(body.get("callback_delay", 0))
                    settle = body.get("settle_amount")
                    paid = sandbox.pay(order_id, delay, None if settle is None else int(settle))
                    self._answer(200, paid)
                elif action == "/replay":
                    self._answer(200, {"kiosk_answered": sandbox.replay(order_id)})
                else:
                    self._answer(405, {"error": "not allowed"})
            except (ValueError, KeyError) as err:
                self._answer(400, {"error": str(err)})

        def _refund(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            reason = sandbox.verifier.verify(headers, raw, time.time())
            if reason:
                self._answer(401, {"error": f"refund request refused: {reason}"})
                return
            status, data = sandbox.refund(json.loads(raw))
            if status == 200 and sandbox.lose_next_refund_answer:
                sandbox.lose_next_refund_answer = False
                self.close_connection = True  # applied, but the merchant never hears
                return
            self._answer(status, data)

        def _settlement(self, day_text: str) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            reason = sandbox.verifier.verify(headers, f"GET {self.path}".encode(), time.time())
            if reason:
                self._answer(401, {"error": f"settlement request refused: {reason}"})
                return
            try:
                day = date.fromisoformat(day_text)
            except ValueError:
                self._answer(400, {"error": f"{day_text} is not a date"})
                return
            if day > datetime.now(sandbox.zone).date():
                self._answer(404, {"error": f"no settlement for {day_text} yet"})
                return
            raw = sandbox.settlement(day)
            self.send_response(200)
            self.send_header("Content-Type", "text/csv; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return ThreadingHTTPServer((host, port), Handler)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kiosk.sandbox_provider", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--secret-hex", required=True)
    parser.add_argument("--merchant", default="sandbox-merchant", help="the merchant's id")
    parser.add_argument("--timezone", default="Asia/Shanghai", help="the provider's day")
    parser.add_argument("--fee-bp", type=int, default=60, help="fee in basis points (0.01%%)")
    args = parser.parse_args(argv)
    sandbox = Sandbox(
        bytes.fromhex(args.secret_hex),
        merchant=args.merchant,
        timezone=args.timezone,
        fee_bp=args.fee_bp,
    )
    server = serve(sandbox, args.host, args.port)
    print(f"sandbox provider on http://{args.host}:{server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
