"""The server's one typed settings object, read once from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


class SettingsError(ValueError):
    """A setting that is missing, malformed or unsafe where it is used."""


DEFAULT_DB_PATH = Path("var/prepaid.sqlite3")


@dataclass(frozen=True)
class Settings:
    """Every knob of the central server. See the README's configuration reference."""

    database_url: str = f"sqlite:///{DEFAULT_DB_PATH}"
    environment: str = "development"  # development | production
    host: str = "127.0.0.1"
    port: int = 8470
    token_ttl_s: int = 12 * 3600
    log_level: str = "INFO"
    log_json: bool = True
    allowed_hosts: tuple[str, ...] = field(default_factory=tuple)
    sms_gateway_url: str = ""  # residents' sign-in codes; empty: the log (development only)
    sms_gateway_key: str = ""
    # Hex key the residents' app signs its QR tokens with (HMAC-SHA256): a kiosk
    # presents a token it verified and the server checks it too. Empty: no QR look-ups.
    qr_token_key: str = ""

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    def validate(self) -> Settings:
        if self.environment not in ("development", "production"):
            raise SettingsError(
                f"PREPAID_ENV={self.environment!r}: use 'development' or 'production'"
            )
        if self.is_production and ":memory:" in self.database_url:
            raise SettingsError("an in-memory database cannot hold an estate's money in production")
        if not 60 <= self.token_ttl_s <= 30 * 24 * 3600:
            raise SettingsError("PREPAID_TOKEN_TTL_S must be between 60 s and 30 days")
        return self

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        defaults = cls()
        try:
            return cls(
                database_url=e.get("PREPAID_DATABASE_URL", defaults.database_url),
                environment=e.get("PREPAID_ENV", defaults.environment),
                host=e.get("PREPAID_HOST", defaults.host),
                port=int(e.get("PREPAID_PORT", defaults.port)),
                token_ttl_s=int(e.get("PREPAID_TOKEN_TTL_S", defaults.token_ttl_s)),
                log_level=e.get("PREPAID_LOG_LEVEL", defaults.log_level).upper(),
                log_json=e.get("PREPAID_LOG_JSON", "1") not in ("0", "false", "no"),
                sms_gateway_url=e.get("PREPAID_SMS_URL", ""),
                sms_gateway_key=e.get("PREPAID_SMS_KEY", ""),
            ).validate()
        except ValueError as err:
            if isinstance(err, SettingsError):
                raise
            raise SettingsError(f"a numeric setting is not a number: {err}") from err
