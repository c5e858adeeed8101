"""Configuration, read once from the environment and an optional ``.env`` file.

Every variable is documented in ``.env.example``. Problems are reported as one plain
sentence (:class:`bot.errors.SettingsError`) naming the variable and where to get it.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import SettingsError

# Texts that only a copied-but-unedited .env.example holds. Random keys are never checked
# against these (a base64 key may well contain "xxxx"); they are validated as keys instead.
PLACEHOLDER_MARKERS = ("your-", "changeme", "change-me", "<", ">")

WHERE_TO_GET = {
    "SLACK_BOT_TOKEN": "copy the Bot User OAuth Token (xoxb-…) from your app's "
    "OAuth & Permissions page",
    "SLACK_APP_TOKEN": "create an App-Level Token with the connections:write scope under your "
    "app's Basic Information → App-Level Tokens (xapp-…)",
    "SLACK_SIGNING_SECRET": "copy the Signing Secret from your app's Basic Information page",
    "SLACK_CLIENT_ID": "copy the Client ID from your app's Basic Information → App Credentials "
    "(only to install in many workspaces through OAuth)",
    "SLACK_CLIENT_SECRET": "copy the Client Secret from your app's Basic Information → App "
    "Credentials (only to install in many workspaces through OAuth)",
    "SLACK_API_URL": "leave it unset for slack.com, or give the Web API base URL, "
    "e.g. https://slack-gov.com/api/",
    "XENOCEPT_DATABASE_URL": "leave it unset for a SQLite file in your data directory, or give "
    "a file path, sqlite:////var/lib/xenocept/xenocept.db or "
    "postgresql://USER:PASSWORD@HOST/DATABASE",
    "XENOCEPT_LOG_LEVEL": "leave it unset for INFO",
    "XENOCEPT_SECRET_KEY": "leave it unset to generate a key file, or generate one with "
    "`xenocept keys new` (comma-separate several keys, newest first, to rotate)",
    "XENOCEPT_SMTP_ALLOW_HOSTS": "list host names, IP addresses or CIDR ranges separated by commas",
}


class RunMode(StrEnum):
    SOCKET = "socket"
    HTTP = "http"


class Settings(BaseSettings):
    """All settings; field aliases are the environment variable names."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    slack_bot_token: SecretStr | None = Field(None, validation_alias="SLACK_BOT_TOKEN")
    slack_app_token: SecretStr | None = Field(None, validation_alias="SLACK_APP_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, validation_alias="SLACK_SIGNING_SECRET")
    slack_api_url: str | None = Field(None, validation_alias="SLACK_API_URL")
    database_url: str | None = Field(None, validation_alias="XENOCEPT_DATABASE_URL")
    secret_key: SecretStr | None = Field(None, validation_alias="XENOCEPT_SECRET_KEY")
    key_file: Path | None = Field(None, validation_alias="XENOCEPT_KEY_FILE")
    smtp_allow_hosts: str = Field("", validation_alias="XENOCEPT_SMTP_ALLOW_HOSTS")
    admins_list: str = Field("", validation_alias="XENOCEPT_ADMINS")  # Slack user ids
    smtp_timeout_seconds: float = Field(30.0, gt=0, validation_alias="XENOCEPT_SMTP_TIMEOUT")
    retry_base_seconds: float = Field(120.0, ge=0, validation_alias="XENOCEPT_RETRY_BASE_SECONDS")
    retry_max_attempts: int = Field(6, ge=1, le=50, validation_alias="XENOCEPT_RETRY_MAX_ATTEMPTS")
    user_sends_per_hour: int = Field(30, ge=1, validation_alias="XENOCEPT_USER_SENDS_PER_HOUR")
    destination_sends_per_day: int = Field(
        200, ge=1, validation_alias="XENOCEPT_DESTINATION_SENDS_PER_DAY"
    )
    log_level: str = Field("INFO", validation_alias="XENOCEPT_LOG_LEVEL")
    lease_seconds: float = Field(60.0, gt=0, validation_alias="XENOCEPT_LEASE_SECONDS")
    slack_client_id: str | None = Field(None, validation_alias="SLACK_CLIENT_ID")
    slack_client_secret: SecretStr | None = Field(None, validation_alias="SLACK_CLIENT_SECRET")
    # Read from .env too (the environment alone used to count): a CA bundle for SMTP
    # servers with a private CA, handed to OpenSSL as SSL_CERT_FILE at start.
    ssl_cert_file: Path | None = Field(None, validation_alias="SSL_CERT_FILE")
    # The bot's address as a desktop reaches it (``xenocept share --server``): shown with
    # a new share key so the command there is complete.
    public_url: str | None = Field(None, validation_alias="XENOCEPT_PUBLIC_URL")

    @field_validator("secret_key")
    @classmethod
    def _blank_is_unset(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        return SecretStr(value.get_secret_value().strip())

    # Variables that still hold .env.example's placeholder: unset, but said so if needed.
    placeholders: frozenset[str] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _placeholders_are_unset(cls, data: Any) -> Any:
        """An unedited placeholder counts as unset: the mode in use then asks for what it
        needs (a Socket Mode bot never needs the signing secret's placeholder filled)."""
        if not isinstance(data, dict):
            return data
        found = set()
        for name in SECRET_VARIABLES:
            value = data.get(name)
            text = value.get_secret_value() if isinstance(value, SecretStr) else value
            if isinstance(text, str) and any(m in text.lower() for m in PLACEHOLDER_MARKERS):
                found.add(name)
                data = {k: v for k, v in data.items() if k != name}
        return {**data, "placeholders": frozenset(found)} if found else data

    @field_validator(
        "slack_bot_token", "slack_app_token", "slack_signing_secret", "slack_client_secret"
    )
    @classmethod
    def _blank_secret_is_unset(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        return SecretStr(value.get_secret_value().strip())

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.strip().lower().startswith(("http://", "https://")):
            raise ValueError(
                "use the bot's address as a browser would, like https://xenocept.example.com"
            )
        return value.strip().rstrip("/")

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.strip().upper() not in LOG_LEVELS:
            raise ValueError(f"use one of {', '.join(LOG_LEVELS)}")
        return value.strip().upper()

    @field_validator("database_url")
    @classmethod
    def _usable_database_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        async_database_url(value.strip())  # ValueError → one sentence
        return value.strip()

    @field_validator("smtp_allow_hosts")
    @classmethod
    def _valid_allow_list(cls, value: str) -> str:
        for item in split_list(value):
            if "/" in item:
                ipaddress.ip_network(item, strict=False)  # ValueError → friendly message
        return value

    @property
    def allowed_smtp_hosts(self) -> tuple[str, ...]:
        return tuple(split_list(self.smtp_allow_hosts))

    @property
    def admins(self) -> frozenset[str]:
        """Slack user ids the operator makes workspace-policy admins, besides Slack's own
        owners and admins."""
        return frozenset(split_list(self.admins_list))

    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL with the async driver this project ships; a SQLite file's
        path made absolute (a relative one would follow the working directory)."""
        if self.database_url:
            return async_database_url(self.database_url)
        path = Path(platformdirs.user_data_dir("xenocept", appauthor=False)) / "xenocept.db"
        return f"sqlite+aiosqlite:///{path}"

    @property
    def installs_through_oauth(self) -> bool:
        """Many workspaces: app credentials and no bot token (each install brings its own)."""
        return bool(self.slack_client_id or self.slack_client_secret) and not self.slack_bot_token

    def require(self, mode: RunMode) -> None:
        """Refuse to start without what ``mode`` needs."""
        if self.slack_bot_token and (self.slack_client_id or self.slack_client_secret):
            raise SettingsError(
                "Set either SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and "
                "SLACK_CLIENT_SECRET (installs through Slack's OAuth), not both."
            )
        if self.installs_through_oauth:
            self._require_oauth(mode)
            return
        self._require_token("SLACK_BOT_TOKEN", self.slack_bot_token, "xoxb-")
        if mode is RunMode.SOCKET:
            self._require_token("SLACK_APP_TOKEN", self.slack_app_token, "xapp-")
        else:
            self._require_token("SLACK_SIGNING_SECRET", self.slack_signing_secret, "")

    def _require_oauth(self, mode: RunMode) -> None:
        if mode is RunMode.SOCKET:
            raise SettingsError(
                "Installing through OAuth (SLACK_CLIENT_ID) needs `xenocept run --http`: "
                "Slack sends installers' browsers to /slack/install and /slack/oauth_redirect."
            )
        if not self.slack_client_id:
            raise SettingsError(f"SLACK_CLIENT_ID is not set: {WHERE_TO_GET['SLACK_CLIENT_ID']}.")
        self._require_token("SLACK_CLIENT_SECRET", self.slack_client_secret, "")
        self._require_token("SLACK_SIGNING_SECRET", self.slack_signing_secret, "")

    def _require_token(self, name: str, value: SecretStr | None, prefix: str) -> None:
        if value is None and name in self.placeholders:
            raise SettingsError(
                f"{name} still holds the placeholder from .env.example: {WHERE_TO_GET[name]}."
            )
        if value is None:
            raise SettingsError(f"{name} is not set: {WHERE_TO_GET[name]}.")
        if prefix and not value.get_secret_value().startswith(prefix):
            raise SettingsError(f"{name} does not start with {prefix!r}: {WHERE_TO_GET[name]}.")


SECRET_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_CLIENT_SECRET",
)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


def async_database_url(value: str) -> str:
    """``sqlite:///…``, ``postgresql://…`` or a plain file path, as an async SQLAlchemy URL.

    Raises ValueError (one sentence) for a scheme no shipped driver serves."""
    scheme, found, rest = value.partition("://")
    if not found:  # a bare path: a SQLite file
        return f"sqlite+aiosqlite:///{Path(value).expanduser().resolve()}"
    driver = _DRIVERS.get(scheme.lower())
    if driver is None:
        raise ValueError(
            f"{scheme}:// is not supported; use sqlite:///PATH or "
            "postgresql://USER:PASSWORD@HOST/DATABASE"
        )
    if driver.startswith("sqlite"):
        path, query_mark, query = rest.removeprefix("/").partition("?")
        if path and path != ":memory:":
            path = str(Path(path).expanduser().resolve())
        return f"{driver}:///{path}{query_mark}{query}"
    return f"{driver}://{rest}"


def split_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def load_settings(env_file: Path | None = None, **overrides: Any) -> Settings:
    """Build settings (the environment, then ``env_file`` or ./.env), turning validation
    errors into one plain sentence."""
    if env_file is not None and not env_file.is_file():
        raise SettingsError(f"The settings file {env_file} does not exist.")
    try:
        if env_file is not None:
            return Settings(_env_file=env_file, **overrides)
        return Settings(**overrides)
    except ValidationError as error:
        first = error.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "a setting"
        name = _env_name(field)
        hint = WHERE_TO_GET.get(name)
        reason = first["msg"].removeprefix("Value error, ")
        sentence = f"{name} is not valid ({reason})"
        raise SettingsError(f"{sentence}: {hint}." if hint else f"{sentence}.") from None


def _env_name(field: str) -> str:
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info else None
    return alias if isinstance(alias, str) else field


class ShareSettings(BaseSettings):
    """``xenocept share``'s environment alternatives to its flags (the environment only:
    a desktop has no bot .env)."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    server: str | None = Field(None, validation_alias="XENOCEPT_SHARE_SERVER")
    key: SecretStr | None = Field(None, validation_alias="XENOCEPT_SHARE_KEY")
    to: str = Field("", validation_alias="XENOCEPT_SHARE_TO")
