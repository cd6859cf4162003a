"""Configuration from the environment (prefix `LOTSE_`), with defaults for the local dev stack.

One `Settings` object is built per process (`worker.py`, each `lotse` command) and passed down;
nothing reads the environment anywhere else.

Where the values come from, first match wins: arguments given in code, `LOTSE_*` environment
variables, the configuration file `lotse.toml` (the first found in the current folder or one
of its parents; its keys are the field names, e.g. `data_dir = "/srv/lotse"`), the defaults.

Relative paths (`data_dir`, `sqlite_path`, `agreement_file`, `support_offers_file`) never
depend on the folder a command is started from: one written in `lotse.toml` is relative to that
file's folder, any other (a default, an environment variable) is relative to the project — the
checkout that holds pyproject.toml and agreements/ (found from where this module is installed),
or, for an installed package without a checkout, the current folder.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from contracts.vocabulary import TASK_QUEUE
from domain.postgres_store import FACTORY_TOPIC as POSTGRES_FACTORY_TOPIC
from domain.sqlite_store import DEFAULT_POOL_TIMEOUT
from domain.sqlite_store import FACTORY_TOPIC as SQLITE_FACTORY_TOPIC

CONFIG_FILE_NAME = "lotse.toml"
PATH_FIELDS = (
    "data_dir",
    "sqlite_path",
    "agreement_file",
    "support_offers_file",
    "codec_keys_file",
    "identity_key_file",
)


def project_root() -> Path | None:
    """The checkout this module runs from (editable install or source tree), if any."""
    here = Path(__file__).resolve().parent
    if (here / "pyproject.toml").is_file() and (here / "agreements").is_dir():
        return here
    return None


def find_config_file(start: Path | None = None) -> Path | None:
    """The first `lotse.toml` in `start` (default: the current folder) or one of its parents."""
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        path = candidate / CONFIG_FILE_NAME
        if path.is_file():
            return path
    return None


class ConfigFileError(ValueError):
    """`lotse.toml` cannot be read or names a setting that does not exist."""


class _ConfigFileSource(PydanticBaseSettingsSource):
    """The values of `lotse.toml`; its relative paths made absolute against its folder."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self.path = find_config_file()

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self().get(field_name), field_name, False  # unused: __call__ gives all at once

    def __call__(self) -> dict[str, Any]:
        if self.path is None:
            return {}
        try:
            with self.path.open("rb") as handle:
                values = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ConfigFileError(f"{self.path}: cannot be read: {error}") from None
        unknown = sorted(set(values) - set(self.settings_cls.model_fields))
        if unknown:
            raise ConfigFileError(
                f"{self.path}: unknown setting(s) {', '.join(unknown)} (keys are the names of "
                "the LOTSE_* variables without the prefix, in lower case, e.g. data_dir)"
            )
        for name in PATH_FIELDS:
            if isinstance(values.get(name), str):
                values[name] = str(self.path.parent / Path(values[name]).expanduser())
        return values


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
    workflow_cache_size: int = Field(
        default=5000,
        ge=0,
        le=100_000,
        description="Cases and incidents the worker keeps in memory between their steps "
        "(about 0.15 MiB each); a step of one not kept replays its whole history first. The "
        "default holds an incident of 5,000 people; 0 keeps none",
    )
    sandbox_cases: bool = Field(
        default=False,
        description="Run each person's case workflow inside Temporal's workflow sandbox too, as "
        "the test suite does. Off in service: the sandbox imports the case workflow afresh for "
        "every case, a quarter of the worker's CPU at thousands of people",
    )

    # Event store
    data_dir: Path = Path("data")
    store: Literal["sqlite", "postgres"] = "sqlite"
    sqlite_path: Path | None = Field(
        default=None, description="SQLite file of the event store; default <data_dir>/events.sqlite"
    )
    sqlite_pool_timeout_seconds: float = Field(
        default=DEFAULT_POOL_TIMEOUT,
        gt=0,
        le=3600,
        description="How long a read or write of the SQLite event store waits for its turn at "
        "the store's connections before its activity fails (and Temporal retries it)",
    )
    postgres_host: str = "127.0.0.1"
    postgres_port: int = 5432
    postgres_user: str = "postgres"
    postgres_password: SecretStr = SecretStr("")
    postgres_dbname: str = "lotse"
    postgres_schema: str = Field(default="", description="Schema for the tables; empty: public")
    postgres_connect_timeout_seconds: int = Field(default=10, ge=1, le=300)
    aggregate_cache_maxsize: int = Field(
        default=100,
        ge=1,
        description="Incidents and agreements each process keeps in memory (fast-forwarded on "
        "every read, so several workers stay correct); a command then reads only new events",
    )

    # The people view (domain/people_view.py): counts of an incident's people
    people_view_catch_up_seconds: float = Field(
        default=2.0,
        gt=0,
        le=3600,
        description="How often the worker brings the people view up to date with the record, "
        "so that a reader (`lotse incident status`, `lotse cases overdue`) finds little to do",
    )
    people_counts_refresh_seconds: int = Field(
        default=30,
        ge=5,
        le=3600,
        description="How often a coordinating incident reads the people counts for its UI "
        "details; each read adds about six events to the incident's history",
    )

    # Payload codec (codec/): what Temporal stores is encrypted with these keys
    codec_keys_file: Path | None = Field(
        default=None,
        description="Key ring of the payload codec (JSON, mode 0600); default "
        "<data_dir>/codec-keys.json. `lotse dev` creates it; `lotse codec rotate` adds a key",
    )
    codec_keys: SecretStr = Field(
        default=SecretStr(""),
        description="The key ring as JSON, instead of the file (for containers); empty: the file",
    )

    # Identity comparisons of imported lists (cli/importing.py)
    identity_key_file: Path | None = Field(
        default=None,
        description="HMAC key that turns names and dates of birth into comparable keys (mode "
        "0600); default <data_dir>/identity-key, made on the first import. Never rotate it: "
        "the same person would no longer be recognised",
    )
    identity_key: SecretStr = Field(
        default=SecretStr(""),
        description="The identity key as base64 (at least 32 bytes), instead of the file",
    )

    import_wait_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="How long `lotse cases import` waits for a case to record its registration "
        "before it stops and lists the rest as unfinished (no worker, say)",
    )

    # The agreement
    agreement_file: Path = Path("agreements/saxony.toml")
    agreement_id: str = "kooperation-opferhilfe-sachsen"

    # The directory of support offers
    support_offers_file: Path = Path("agreements/support-offers.toml")
    directory_id: str = Field(
        default="hilfsangebote-sachsen",
        description="Which loaded directory of support offers referrals are matched against.",
    )

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

    # The regular exchange (workflows/regular_exchange.py)
    exchange_lead_days: int = Field(
        default=14,
        ge=0,
        le=90,
        description="Days between the invitations to an exchange meeting (when its Schedule "
        "starts the run) and the meeting itself",
    )
    measure_reminder_days: int = Field(
        default=7,
        ge=1,
        le=90,
        description="Days between two reminders of a measure that is overdue and not done",
    )

    # The test alert (workflows/drill.py)
    drill_wait_minutes: float = Field(
        default=1440,
        gt=0,
        le=20160,
        description="Minutes a test alert waits for every contact point's answer before the "
        "silent ones are marked not answering and the Commissioner's office is told",
    )

    # Dev stack (`lotse dev`)
    dev_temporal_port: int = 7233
    dev_ui_port: int = 8233
    dev_smtp_port: int = 8025
    dev_codec_port: int = 8081

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _ConfigFileSource(settings_cls))

    @model_validator(mode="after")
    def _paths_do_not_depend_on_the_current_folder(self) -> Self:
        base = project_root() or Path.cwd()
        for name in PATH_FIELDS:
            value: Path | None = getattr(self, name)
            if value is not None and not value.expanduser().is_absolute():
                # object.__setattr__: assignment would run the validators again, recursively.
                object.__setattr__(self, name, base / value)
            elif value is not None:
                object.__setattr__(self, name, value.expanduser())
        return self

    @property
    def config_file(self) -> Path | None:
        """The `lotse.toml` this process reads, if any."""
        return find_config_file()

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
    def codec_keys_path(self) -> Path:
        return self.codec_keys_file or self.data_dir / "codec-keys.json"

    @property
    def identity_key_path(self) -> Path:
        return self.identity_key_file or self.data_dir / "identity-key"

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    def changed_variables(self, *names: str) -> list[str]:
        """`LOTSE_…=value` for each of `names` that differs from its default: what a command
        copied from Lotse's output (a hint, an alert e-mail) needs to reach the same place."""
        defaults = type(self).model_fields
        return [
            f"LOTSE_{name.upper()}={getattr(self, name)}"
            for name in names
            if getattr(self, name) != defaults[name].default
        ]

    def event_store_env(self) -> dict[str, str]:
        """The eventsourcing library's settings for the configured store.

        The library looks up `<APPLICATION NAME>_<KEY>` before `<KEY>`, in the process
        environment too; our application is called Lotse, so every key is given with the
        `LOTSE_` prefix here, or a stray `LOTSE_POSTGRES_…` variable would override these.
        """
        return {f"LOTSE_{key}": value for key, value in self._event_store_keys().items()}

    def _event_store_keys(self) -> dict[str, str]:
        return {"AGGREGATE_CACHE_MAXSIZE": str(self.aggregate_cache_maxsize)} | self._store_keys()

    def _store_keys(self) -> dict[str, str]:
        if self.store == "postgres":
            env = {
                # The library's PostgreSQL store with the hash chain (domain/postgres_store.py).
                "PERSISTENCE_MODULE": POSTGRES_FACTORY_TOPIC,
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
            # Lotse's pool and the hash chain over the library's SQLite recorders
            # (domain/sqlite_store.py).
            "PERSISTENCE_MODULE": SQLITE_FACTORY_TOPIC,
            "SQLITE_DBNAME": str(self.event_store_path),
            "SQLITE_POOL_TIMEOUT": str(self.sqlite_pool_timeout_seconds),
        }
