"""Settings refuse combinations that would only fail later, inside a running incident."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from settings import Settings


def test_a_retry_maximum_below_the_first_interval_is_refused() -> None:
    with pytest.raises(ValidationError, match="MAXIMUM_INTERVAL_SECONDS must not be below"):
        Settings(delivery_initial_interval_seconds=30, delivery_maximum_interval_seconds=5)


def test_the_aggregate_cache_size_reaches_the_event_store_and_must_be_positive() -> None:
    assert (
        Settings(aggregate_cache_maxsize=7).event_store_env()["LOTSE_AGGREGATE_CACHE_MAXSIZE"]
        == "7"
    )
    with pytest.raises(ValidationError, match="aggregate_cache_maxsize"):
        Settings(aggregate_cache_maxsize=0)


def test_the_event_store_keys_carry_the_application_prefix() -> None:
    env = Settings(store="postgres", postgres_dbname="lotse_test").event_store_env()
    assert env["LOTSE_PERSISTENCE_MODULE"] == "domain.postgres_store:LotsePostgresFactory"
    assert env["LOTSE_POSTGRES_DBNAME"] == "lotse_test"
    assert not [key for key in env if not key.startswith("LOTSE_")]


def test_the_sqlite_store_is_lotse_factory_with_the_pool_timeout_of_the_settings() -> None:
    env = Settings(store="sqlite", sqlite_pool_timeout_seconds=12.5).event_store_env()
    assert env["LOTSE_PERSISTENCE_MODULE"] == "domain.sqlite_store:LotseSQLiteFactory"
    assert env["LOTSE_SQLITE_POOL_TIMEOUT"] == "12.5"
    assert Settings(store="sqlite").event_store_env()["LOTSE_SQLITE_POOL_TIMEOUT"] == "30.0"
    with pytest.raises(ValidationError, match="sqlite_pool_timeout_seconds"):
        Settings(sqlite_pool_timeout_seconds=0)
