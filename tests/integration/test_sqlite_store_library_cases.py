"""eventsourcing's own recorder and factory test cases (`eventsourcing.tests.persistence`, as
installed with eventsourcing 9.5.6), run against Lotse's SQLite datastore and factory
(domain/sqlite_store.py) and its chained application recorder (domain/chain_sqlite.py): the
pool changed and every insert writes links, nothing the recorders promise may change with it.

Each case runs on a SQLite file in its own tmp_path, with the pool's default size. The library's
abstract cases are reached through the module, so that pytest does not collect them here too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
    ProcessRecorder,
    TrackingRecorder,
)
from eventsourcing.sqlite import (
    SQLiteAggregateRecorder,
    SQLiteApplicationRecorder,
    SQLiteProcessRecorder,
    SQLiteTrackingRecorder,
)
from eventsourcing.tests import persistence as library_cases
from eventsourcing.utils import Environment, get_topic

from domain.chain_sqlite import ChainedSQLiteApplicationRecorder
from domain.chain_verify import verify_chain
from domain.sqlite_store import LotseSQLiteDatastore, LotseSQLiteFactory


class OnLotseDatastore:
    """Builds each recorder on a new `LotseSQLiteDatastore` over this test's SQLite file;
    after the test, recomputes the chain each chained recorder left (it must be intact) and
    closes the datastores."""

    db_name: str
    datastores: list[LotseSQLiteDatastore]
    chained: list[ChainedSQLiteApplicationRecorder]

    @pytest.fixture(autouse=True)
    def _sqlite_file(self, tmp_path: Path) -> Iterator[None]:
        self.db_name = str(tmp_path / "events.sqlite")
        self.datastores, self.chained = [], []
        try:
            yield
            for recorder in self.chained:
                with recorder.chain_snapshot() as snapshot:
                    assert verify_chain(snapshot).findings == []
        finally:
            for datastore in self.datastores:
                datastore.close()

    def chained_recorder(self) -> ChainedSQLiteApplicationRecorder:
        recorder = ChainedSQLiteApplicationRecorder(self.datastore())
        recorder.create_table()
        self.chained.append(recorder)
        return recorder

    def datastore(self) -> LotseSQLiteDatastore:
        datastore = LotseSQLiteDatastore(self.db_name)
        self.datastores.append(datastore)
        return datastore


class TestAggregateRecorder(OnLotseDatastore, library_cases.AggregateRecorderTestCase):
    def create_recorder(self) -> AggregateRecorder:
        recorder = SQLiteAggregateRecorder(self.datastore())
        recorder.create_table()
        return recorder


class TestApplicationRecorder(
    OnLotseDatastore, library_cases.ApplicationRecorderTestCase[SQLiteApplicationRecorder]
):
    def create_recorder(self) -> SQLiteApplicationRecorder:
        return self.chained_recorder()


class TestNonInterleavingNotificationIDs(
    OnLotseDatastore, library_cases.NonInterleavingNotificationIDsBaseCase
):
    def create_recorder(self) -> ApplicationRecorder:
        return self.chained_recorder()


class TestTrackingRecorder(OnLotseDatastore, library_cases.TrackingRecorderTestCase):
    def create_recorder(self) -> TrackingRecorder:
        recorder = SQLiteTrackingRecorder(self.datastore())
        recorder.create_table()
        return recorder


class TestProcessRecorder(OnLotseDatastore, library_cases.ProcessRecorderTestCase):
    def create_recorder(self) -> ProcessRecorder:
        recorder = SQLiteProcessRecorder(self.datastore())
        recorder.create_table()
        return recorder


class TrackingRecorderSubclass(SQLiteTrackingRecorder):
    """A tracking recorder of one's own, which the factory must build when asked."""


class TestInfrastructureFactory(library_cases.InfrastructureFactoryTestCase[LotseSQLiteFactory]):
    """The factory as `InfrastructureFactory.construct` finds it from Lotse's settings."""

    @pytest.fixture(autouse=True)
    def _sqlite_file(self, tmp_path: Path) -> None:
        self.db_name = str(tmp_path / "events.sqlite")

    def setUp(self) -> None:
        self.env = Environment("TestCase")
        self.env[InfrastructureFactory.PERSISTENCE_MODULE] = get_topic(LotseSQLiteFactory)
        self.env[LotseSQLiteFactory.SQLITE_DBNAME] = self.db_name
        super().setUp()

    def expected_factory_class(self) -> type[LotseSQLiteFactory]:
        return LotseSQLiteFactory

    def expected_aggregate_recorder_class(self) -> type[AggregateRecorder]:
        return SQLiteAggregateRecorder

    def expected_application_recorder_class(self) -> type[ApplicationRecorder]:
        return ChainedSQLiteApplicationRecorder

    def expected_tracking_recorder_class(self) -> type[TrackingRecorder]:
        return SQLiteTrackingRecorder

    def tracking_recorder_subclass(self) -> type[TrackingRecorder]:
        return TrackingRecorderSubclass

    def expected_process_recorder_class(self) -> type[ProcessRecorder]:
        return SQLiteProcessRecorder

    def test_the_factory_builds_lotse_datastore(self) -> None:
        assert isinstance(self.factory.datastore, LotseSQLiteDatastore)
        assert self.factory.datastore.pool.db_name == self.db_name
