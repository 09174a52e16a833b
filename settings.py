"""Every Loket setting, read once from LOKET_* environment variables or a .env file."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _package_dir(package: str) -> Path:
    """A data directory shipped in the installed package: the wheel ships it, never the tree."""
    found = resources.files(package)
    if not isinstance(found, Path):  # a zipped install; pip always unpacks wheels
        raise RuntimeError(f"{package} is not installed as plain files")
    return found


class Settings(BaseSettings):
    """Settings for one Loket installation; the embedded default needs none of them."""

    model_config = SettingsConfigDict(env_prefix="LOKET_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///data/loket.db"
    profile: str = "erzap"
    locale: Literal["id", "en"] = "id"
    public_url: str = "http://127.0.0.1:8000"
    # The shipped phrase texts and profiles (an installed Loket runs from any directory).
    scripts_dir: Path = _package_dir("scripts_text")
    profiles_dir: Path = _package_dir("flows.profiles")

    max_webhook_bytes: int = Field(default=1_000_000, gt=0)
    # Bodies whose sender is not proven yet (Twilio before its signature check, web chat
    # posts): read at most this many at once per worker process, each within the timeout.
    max_pending_bodies: int = Field(default=32, gt=0)
    body_timeout_seconds: float = Field(default=10.0, gt=0)
    # The web chat (docs/security.md): form size, posts per minute per chat and per client
    # address, and new chats per address per hour (each chat has at most one open case).
    web_chat_max_bytes: int = Field(default=16_384, gt=0)
    web_chat_posts_per_minute: int = Field(default=20, gt=0)
    web_chat_posts_per_minute_per_address: int = Field(default=60, gt=0)
    web_chat_new_chats_per_hour: int = Field(default=10, gt=0)
    web_chat_open_cases_per_address: int = Field(default=3, gt=0)
    # Failed logins per name and client address: this many free, then a wait that starts
    # here and doubles with each further failure, up to the maximum.
    login_free_attempts: int = Field(default=5, gt=0)
    login_first_wait_seconds: float = Field(default=60.0, gt=0)
    login_max_wait_seconds: float = Field(default=900.0, gt=0)
    # /healthz answers 503 when the SQLite database's disk has less free space than this.
    health_min_free_mb: float = Field(default=64.0, ge=0)
    outbox_poll_seconds: float = Field(default=0.2, gt=0)
    # A claimed reply whose send was not recorded (a crash) is sent again after this; keep it
    # well above the longest send (the channels' request timeouts).
    outbox_lease_seconds: float = Field(default=60.0, gt=0)
    # How long a reply is retried through 429s, 5xx and network errors (capped back-off, at
    # most five minutes apart) before it is marked failed, counted from when it was written.
    # A day for the chat apps (WhatsApp's customer-service window is 24 hours) and SMS; the
    # web chat's replies only wait on our own database.
    outbox_deadline_minutes_telegram: float = Field(default=24 * 60, gt=0)
    outbox_deadline_minutes_whatsapp: float = Field(default=24 * 60, gt=0)
    outbox_deadline_minutes_sms: float = Field(default=24 * 60, gt=0)
    outbox_deadline_minutes_web: float = Field(default=60, gt=0)
    # Sending rates, in messages per second; the providers' published limits by default.
    # The benchmark raises them to measure the engine rather than the limiter.
    telegram_max_per_second: float = Field(default=30.0, gt=0)  # per bot
    telegram_max_per_chat_per_second: float = Field(default=1.0, gt=0)
    whatsapp_max_per_second: float = Field(default=80.0, gt=0)  # Twilio's default WhatsApp MPS
    sms_max_per_second: float = Field(default=1.0, gt=0)  # one long-code number: 1 segment/s

    media_dir: Path = Path("data/media")  # client media fetched from Twilio is kept here
    max_media_bytes: int = Field(default=16_000_000, gt=0)  # WhatsApp's own media limit: 16 MB

    telegram_token: SecretStr | None = None
    telegram_secret: SecretStr | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_allow_groups: bool = False  # group chats are ignored unless this is set

    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_whatsapp_from: str | None = None
    twilio_sms_from: str | None = None
    twilio_base_url: str | None = None
    # An approved WhatsApp template (Content SID, HX...) with one variable {{1}}, sent when a
    # reply falls outside WhatsApp's 24-hour customer-service window.
    twilio_whatsapp_template_sid: str | None = None

    session_hours: float = Field(default=12.0, gt=0)  # a desk/admin login lasts this long

    reports_dir: Path = Path("data/reports")  # daily logs written on schedule (docs/kpi.md)
    supervision_poll_seconds: float = Field(default=60.0, gt=0)

    discord_webhook_url: SecretStr | None = None
    agent_telegram_chat_id: str | None = None
    # The agent desk's clocks (FRT/SLA marks, auto-close, survey expiry) tick this often.
    timers_poll_seconds: float = Field(default=5.0, gt=0)
    # Give waiting cases to online agents with free capacity (else agents pick them by hand).
    auto_assign: bool = False

    # --- #17: technician visits (docs/visits.md) ---
    # The technicians' Telegram group: told of visits whose technician has no chat or number.
    technician_telegram_chat_id: str | None = None
    # A technician's link works until this long after the visit window ends.
    visit_link_hours: float = Field(default=48.0, gt=0)

    # --- #16 outbound caring campaigns (docs/campaigns.md) ---
    # WhatsApp's messaging tier: unique recipients of business-initiated messages per rolling
    # 24 hours (250, 1000, 10000, 100000); campaigns pause sending when it is reached.
    campaign_daily_cap: int = Field(default=1000, gt=0)
    # A claimed recipient whose send was not recorded (a crash) is sent again after this.
    campaign_lease_seconds: float = Field(default=60.0, gt=0)

    # --- #14 attachments both ways (docs/agent-desk.md#attachments) ---
    # File types a web chat client or an agent may upload (by extension; each is also checked
    # by its first bytes). Their size cap is LOKET_MAX_MEDIA_BYTES.
    upload_types: str = "jpg,jpeg,png,webp,pdf,doc,docx,xls,xlsx,ppt,pptx,txt,csv"

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
    def public_base(self) -> str:
        """LOKET_PUBLIC_URL without a trailing slash, ready to have a path appended."""
        return self.public_url.rstrip("/")

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is the embedded SQLite file."""
        return self.database_url.startswith("sqlite")
