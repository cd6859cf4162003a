"""Configuration from the environment (prefix `LOTSE_`), with defaults for the local dev stack.

One `Settings` object is built in `worker.py` / the CLI and passed down; nothing reads the
environment anywhere else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.vocabulary import TASK_QUEUE


class Settings(BaseSettings):
    """Every knob of Lotse. Each field is read from `LOTSE_<FIELD NAME IN CAPITALS>`."""

    model_config = SettingsConfigDict(env_prefix="LOTSE_", extra="ignore")

    # Temporal
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = TASK_QUEUE
    temporal_ui_url: str = Field(
        default="http://127.0.0.1:8233",
        description="Where operators open the Temporal UI; quoted in alert messages.",
    )

    # Event store
    data_dir: Path = Path("data")
    store: Literal["sqlite", "postgres"] = "sqlite"
    sqlite_path: Path | None = Field(
        default=None, description="SQLite file of the event store; default <data_dir>/events.sqlite"
    )
    postgres_host: str = "127.0.0.1"
    postgres_port: int = 5432
    postgres_user: str = "postgres"
    postgres_password: SecretStr = SecretStr("")
    postgres_dbname: str = "lotse"
    postgres_schema: str = Field(default="", description="Schema for the tables; empty: public")
    postgres_connect_timeout_seconds: int = Field(default=10, ge=1, le=300)

    # The agreement
    agreement_file: Path = Path("agreements/saxony.toml")
    agreement_id: str = "kooperation-opferhilfe-sachsen"

    # Notifications
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_sender: str = "lotse@example.org"
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_timeout_seconds: float = 10.0
    webhook_timeout_seconds: float = 10.0
    delivery_max_attempts: int = Field(default=5, ge=1, le=20)
    delivery_initial_interval_seconds: float = Field(default=2.0, gt=0)
    delivery_maximum_interval_seconds: float = Field(default=60.0, gt=0)

    # Dev stack (`lotse dev`)
    dev_temporal_port: int = 7233
    dev_ui_port: int = 8233
    dev_smtp_port: int = 8025

    # Tests only (tests/workflow/test_worker_crash.py): the worker kills itself right after the
    # store committed inside this activity type, on its first attempt, before the activity
    # reports back to Temporal (proves resumption without duplicates).
    crash_after_commit_in: str = ""
    # Tests only: the worker kills itself in the SMTP transaction of the message with this id,
    # once the server's reply to the message data has arrived but before it is read: the
    # server has the message, Temporal never hears of it (proves at-least-once delivery).
    crash_after_smtp_data_of: str = ""

    @model_validator(mode="after")
    def _retry_intervals_are_ordered(self) -> Self:
        if self.delivery_maximum_interval_seconds < self.delivery_initial_interval_seconds:
            raise ValueError(
                "LOTSE_DELIVERY_MAXIMUM_INTERVAL_SECONDS must not be below "
                "LOTSE_DELIVERY_INITIAL_INTERVAL_SECONDS"
            )
        return self

    @property
    def event_store_path(self) -> Path:
        return self.sqlite_path or self.data_dir / "events.sqlite"

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    def event_store_env(self) -> dict[str, str]:
        """The eventsourcing library's settings for the configured store.

        The library looks up `<APPLICATION NAME>_<KEY>` before `<KEY>`, in the process
        environment too; our application is called Lotse, so every key is given with the
        `LOTSE_` prefix here, or a stray `LOTSE_POSTGRES_…` variable would override these.
        """
        return {f"LOTSE_{key}": value for key, value in self._event_store_keys().items()}

    def _event_store_keys(self) -> dict[str, str]:
        if self.store == "postgres":
            env = {
                "PERSISTENCE_MODULE": "eventsourcing.postgres",
                "POSTGRES_HOST": self.postgres_host,
                "POSTGRES_PORT": str(self.postgres_port),
                "POSTGRES_USER": self.postgres_user,
                "POSTGRES_PASSWORD": self.postgres_password.get_secret_value(),
                "POSTGRES_DBNAME": self.postgres_dbname,
                "POSTGRES_ENABLE_DB_FUNCTIONS": "y",
                "POSTGRES_CONNECT_TIMEOUT": str(self.postgres_connect_timeout_seconds),
            }
            if self.postgres_schema:
                env["POSTGRES_SCHEMA"] = self.postgres_schema
            return env
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(self.event_store_path),
        }
