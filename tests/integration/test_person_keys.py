"""The person key store on both stores: one key per person, destroyed for good, with a
tombstone that tells "erased" from "never had a key"."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from eventsourcing.utils import Environment
from psycopg import sql

from domain.key_stores import build_key_store, sqlite_key_path
from domain.keys import KEY_BYTES, KeyStore
from domain.keys_postgres import PostgresKeyStore
from domain.keys_sqlite import SQLiteKeyStore
from settings import Settings


@pytest.fixture
def keys(store_settings: Settings) -> Iterator[KeyStore]:
    store = build_key_store(Environment("Lotse", store_settings.event_store_env()))
    yield store
    store.close()


def test_the_key_store_follows_the_event_store_settings(
    keys: KeyStore, store_settings: Settings
) -> None:
    if store_settings.store == "sqlite":
        assert isinstance(keys, SQLiteKeyStore)
        assert Path(keys.path) == store_settings.event_store_path.with_name("person-keys.sqlite")
    else:
        assert isinstance(keys, PostgresKeyStore)


def test_a_key_is_made_once_and_destroyed_for_good(keys: KeyStore) -> None:
    person, stranger = uuid.uuid4(), uuid.uuid4()
    keys.create(person)
    key = keys.key(person)
    assert key is not None
    assert len(key) == KEY_BYTES
    keys.create(person)
    assert keys.key(person) == key

    assert keys.destroy(person) is True
    assert keys.key(person) is None
    assert keys.destroyed(person) is True
    assert keys.destroy(person) is False
    keys.create(person)
    assert keys.key(person) is None, "a destroyed key must never be made again"

    assert keys.key(stranger) is None
    assert keys.destroyed(stranger) is False


def test_destroying_a_key_that_never_existed_leaves_a_tombstone(keys: KeyStore) -> None:
    person = uuid.uuid4()
    assert keys.destroy(person) is False
    assert keys.destroyed(person) is True
    keys.create(person)
    assert keys.key(person) is None


def test_a_destroyed_key_is_not_left_in_the_sqlite_key_file(tmp_path: Path) -> None:
    path = tmp_path / "person-keys.sqlite"
    keys = SQLiteKeyStore(str(path))
    people = [uuid.uuid4() for _ in range(20)]
    for person in people:
        keys.create(person)
    erased, kept = keys.key(people[7]), keys.key(people[8])
    assert erased is not None
    assert kept is not None
    assert erased in path.read_bytes()
    keys.destroy(people[7])
    keys.close()
    files = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert erased not in files
    assert kept in files


def test_the_postgres_key_table_lives_in_the_configured_schema(
    postgres_settings: Settings, postgres_available: str
) -> None:
    keys = build_key_store(Environment("Lotse", postgres_settings.event_store_env()))
    person = uuid.uuid4()
    keys.create(person)
    keys.destroy(person)
    keys.close()
    table = sql.Identifier(postgres_settings.postgres_schema, "lotse_person_keys")
    with psycopg.connect(postgres_available) as conn:
        row = conn.execute(
            sql.SQL("SELECT key, destroyed_at IS NOT NULL FROM {} WHERE person_id = %s").format(
                table
            ),
            (person,),
        ).fetchone()
    assert row == (None, True)


@pytest.mark.parametrize(
    ("dbname", "expected"),
    [
        ("/srv/lotse/events.sqlite", "/srv/lotse/person-keys.sqlite"),
        ("/srv/lotse/exercise.sqlite", "/srv/lotse/exercise-person-keys.sqlite"),
        (":memory:", ":memory:"),
        ("file:lotse?mode=memory&cache=shared", ":memory:"),
    ],
)
def test_the_sqlite_key_file_is_named_after_the_event_store_file(
    dbname: str, expected: str
) -> None:
    assert sqlite_key_path(dbname) == expected


def test_an_in_memory_event_store_gets_an_in_memory_key_store() -> None:
    keys = build_key_store(Environment("Lotse", {}))
    assert isinstance(keys, SQLiteKeyStore)
    assert keys.path == ":memory:"
    keys.close()
    with pytest.raises(sqlite3.ProgrammingError):
        keys.key(uuid.uuid4())
