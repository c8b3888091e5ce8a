"""The kiosk's one typed settings object: who it is, where its devices and server are.

Device URLs follow ``terminal_drivers.transport`` (``sim://bill-acceptor``,
``/dev/ttyUSB0``, ``pcsc://<reader>``); an empty URL means the device is not
fitted. The estate's receipt details (legal name, tax number, phone) come with
the terminal's configuration, since ``GET /v1/estate`` does not carry them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class SettingsError(ValueError):
    """A setting the kiosk refuses to start with."""


@dataclass(frozen=True, kw_only=True)
class KioskSettings:
    terminal_id: str = "kiosk-lobby-a"
    server_url: str = "http://127.0.0.1:8470"
    # The terminal's state directory: its identity as enrolled (``prepaid provision
    # enrol``: terminal.json, terminal.key); every request is signed with that key.
    state_dir: str = "var/kiosk"
    journal_path: str = "var/kiosk/journal.sqlite3"
    currency: str = "CNY"
    estate_name: str = "Harbour View Gardens"
    legal_name: str = "Harbour View Property Management Co., Ltd."
    tax_number: str = "91310000MA1FL0001X"
    estate_phone: str = "+86 21 5555 0100"
    timezone: str = "Asia/Shanghai"
    notices: tuple[str, ...] = ()
    # Devices; "" = not fitted.
    bill_acceptor_url: str = ""
    coin_acceptor_url: str = ""
    printer_url: str = ""
    card_reader_url: str = ""
    card_master_key: bytes = b""
    card_system_id: bytes = b""
    # The key the residents' app signs QR tokens with (HMAC-SHA256), until the
    # server verifies tokens itself.
    qr_token_key: bytes = b""
    ereceipt_base: str = "https://pay.example/r/"
    # QR / mobile payment: the provider's merchant API and the callbacks' shared secret.
    payment_provider_url: str = ""
    payment_provider_name: str = "sandbox"
    payment_secret: bytes = b""
    callback_host: str = "127.0.0.1"
    callback_port: int = 0
    qr_payment_timeout_s: float = 60.0
    # Behaviour.
    languages: tuple[str, ...] = ("en", "zh_CN")
    idle_timeout_s: float = 60.0
    cash_timeout_s: float = 90.0
    receipt_timeout_s: float = 20.0
    max_cash_per_session: int = 200_000  # minor units: 2,000.00
    preset_amounts: tuple[int, ...] = (5000, 10000, 20000, 50000)
    low_balance: int = 3000  # below this a wallet is shown "low"
    sync_interval_s: float = 5.0
    # How often idle devices are checked (a failed one comes back, a good one fails).
    # A check holds the controller for tens of ms (four printer status reads), so
    # not too often: a tap that arrives meanwhile waits for it.
    health_interval_s: float = 10.0
    accepted_notes: tuple[int, ...] = field(default=(1000, 2000, 5000, 10000))
    technician_pin: str = ""
    development: bool = True

    def __post_init__(self) -> None:
        if not self.terminal_id:
            raise SettingsError("terminal_id must be set")
        if self.max_cash_per_session <= 0:
            raise SettingsError("max_cash_per_session must be positive")
        if not self.development:
            from terminal_drivers.card_reader.demo_keys import DEMO_MASTER_KEY

            if self.card_master_key == DEMO_MASTER_KEY:
                raise SettingsError("the demo card master key is refused outside development")
            if not self.technician_pin or self.technician_pin in {"0000", "1234"}:
                raise SettingsError("set a technician PIN that is not a default")
