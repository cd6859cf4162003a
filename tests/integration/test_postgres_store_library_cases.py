"""eventsourcing's own application recorder test cases (`eventsourcing.tests.persistence`, as
installed with eventsourcing 9.5.6), run against Lotse's chained PostgreSQL recorder
(domain/postgres_store.py), with the library's database function for inserts (as Lotse runs)
and without it: every insert also writes links, nothing the recorder promises may change.

Each case runs in a fresh schema, dropped afterwards; after each case the chain it left is
recomputed and must be intact. The library's abstract cases are reached through the module, so
that pytest does not collect them here too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from eventsourcing.persistence import ApplicationRecorder, InfrastructureFactory
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.tests import persistence as library_cases
from eventsourcing.utils import Environment, get_topic
from psycopg import sql

from domain.chain_verify import verify_chain
from domain.postgres_store import ChainedPostgresApplicationRecorder, LotsePostgresFactory
from settings import Settings
from tests.conftest import POSTGRES_DBNAME, POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER

pytestmark = pytest.mark.postgres


class InFreshSchema:
    """Builds each recorder on a new datastore in this test's schema; closes the datastores,
    checks the chain each recorder left and drops the schema after the test."""

    db_functions = True
    schema: str
    datastores: list[PostgresDatastore]
    recorders: list[ChainedPostgresApplicationRecorder]

    @pytest.fixture(autouse=True)
    def _schema(self, postgres_available: str) -> Iterator[None]:
        self.schema = f"test_{uuid.uuid4().hex}"
        self.datastores, self.recorders = [], []
        with psycopg.connect(postgres_available, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(self.schema)))
        try:
            yield
            for recorder in self.recorders:
                with recorder.chain_snapshot() as snapshot:
                    report = verify_chain(snapshot)
                assert report.findings == []
        finally:
            for datastore in self.datastores:
                datastore.close()
            with psycopg.connect(postgres_available, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(self.schema)))

    def chained_recorder(self) -> ChainedPostgresApplicationRecorder:
        datastore = PostgresDatastore(
            dbname=POSTGRES_DBNAME,
            host=POSTGRES_HOST,
            port=POSTGRES_PORT,
            user=POSTGRES_USER,
            password="",
            schema=self.schema,
            pool_size=4,
            max_overflow=8,
            enable_db_functions=self.db_functions,
        )
        self.datastores.append(datastore)
        recorder = ChainedPostgresApplicationRecorder(datastore)
        recorder.create_table()
        self.recorders.append(recorder)
        return recorder


class TestApplicationRecorder(
    InFreshSchema,
    library_cases.ApplicationRecorderTestCase[ChainedPostgresApplicationRecorder],
):
    # A refused insert uses up numbers of the PostgreSQL sequence (as in the library's own
    # PostgreSQL tests).
    EXPECT_CONTIGUOUS_NOTIFICATION_IDS = False

    def create_recorder(self) -> ChainedPostgresApplicationRecorder:
        return self.chained_recorder()


class TestApplicationRecorderWithoutDbFunctions(TestApplicationRecorder):
    db_functions = False


class TestNonInterleavingNotificationIDs(
    InFreshSchema, library_cases.NonInterleavingNotificationIDsBaseCase
):
    def create_recorder(self) -> ApplicationRecorder:
        return self.chained_recorder()


class TestNonInterleavingWithoutDbFunctions(TestNonInterleavingNotificationIDs):
    db_functions = False


def test_lotse_settings_build_the_chained_recorder(postgres_settings: Settings) -> None:
    env = postgres_settings.event_store_env()
    assert env["LOTSE_PERSISTENCE_MODULE"] == get_topic(LotsePostgresFactory)
    factory = InfrastructureFactory.construct(Environment("Lotse", env))
    try:
        assert isinstance(factory, LotsePostgresFactory)
        assert isinstance(factory.application_recorder(), ChainedPostgresApplicationRecorder)
    finally:
        factory.close()
