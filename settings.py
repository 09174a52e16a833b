"""Every Loket setting, read once from LOKET_* environment variables or a .env file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Settings for one Loket installation; the embedded default needs none of them."""

    model_config = SettingsConfigDict(env_prefix="LOKET_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///data/loket.db"
    profile: str = "erzap"
    locale: Literal["id", "en"] = "id"
    public_url: str = "http://127.0.0.1:8000"
    scripts_dir: Path = Path(__file__).resolve().parent / "scripts_text"
    profiles_dir: Path = Path(__file__).resolve().parent / "flows" / "profiles"

    max_webhook_bytes: int = Field(default=1_000_000, gt=0)
    outbox_poll_seconds: float = Field(default=0.2, gt=0)
    outbox_max_attempts: int = Field(default=8, gt=0)

    telegram_token: SecretStr | None = None
    telegram_secret: SecretStr | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"

    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_whatsapp_from: str | None = None
    twilio_sms_from: str | None = None
    twilio_base_url: str | None = None

    discord_webhook_url: SecretStr | None = None
    agent_telegram_chat_id: str | None = None

    @model_validator(mode="after")
    def _refuse_unusable_combinations(self) -> Settings:
        """Fail at start, not at the first webhook, when a channel is half configured."""
        if self.telegram_token and not self.telegram_secret:
            raise ValueError(
                "LOKET_TELEGRAM_TOKEN is set without LOKET_TELEGRAM_SECRET: "
                "webhooks could not be verified"
            )
        if self.telegram_secret and len(self.telegram_secret.get_secret_value()) < 16:
            raise ValueError("LOKET_TELEGRAM_SECRET must be at least 16 characters")
        if bool(self.twilio_account_sid) != bool(self.twilio_auth_token):
            raise ValueError(
                "LOKET_TWILIO_ACCOUNT_SID and LOKET_TWILIO_AUTH_TOKEN must be set together"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is the embedded SQLite file."""
        return self.database_url.startswith("sqlite")
