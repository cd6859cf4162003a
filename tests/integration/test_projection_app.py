"""The projections beside the record (the timeline, the people view), on both stores: an
application opens each once, however many threads read at once, and closes each with itself."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator

import pytest
from psycopg_pool import PoolClosed

from domain.application import LotseApplication
from settings import Settings

READERS = 8


@pytest.fixture
def app(store_settings: Settings) -> Iterator[LotseApplication]:
    app = LotseApplication(env=store_settings.event_store_env())
    yield app
    app.close()


def opened_by_threads(open_one: Callable[[], object]) -> list[object]:
    """What `open_one` returned to each of READERS threads let go at once."""
    start = threading.Barrier(READERS)
    opened: list[object] = []

    def read() -> None:
        start.wait()
        opened.append(open_one())

    threads = [threading.Thread(target=read) for _ in range(READERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return opened


def test_threads_reading_a_new_application_at_once_share_one_projector_each(
    app: LotseApplication,
) -> None:
    timelines = opened_by_threads(app._timeline)
    people_views = opened_by_threads(app._people)
    assert len(timelines) == len(people_views) == READERS
    assert len({id(projector) for projector in timelines}) == 1
    assert len({id(projector) for projector in people_views}) == 1
    assert app._timeline() is timelines[0]
    assert app._people() is people_views[0]


def test_closing_the_application_closes_the_projection_stores_it_opened(
    store_settings: Settings,
) -> None:
    app = LotseApplication(env=store_settings.event_store_env())
    timeline, people = app._timeline().store, app._people().store
    assert timeline.position() == people.position() == 0
    app.close()
    for store in (timeline, people):
        with pytest.raises((sqlite3.ProgrammingError, PoolClosed), match="closed"):
            store.position()
