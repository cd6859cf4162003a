"""The catch-up loop every projection beside the record shares (the people view, the timeline).

A projection keeps a tracking position (the id of the last notification it applied) in the same
store as its rows. One round reads the events after the position from the notification log,
turns them into rows and hands both to the store, which writes the rows and moves the position
in one transaction — and writes nothing if the position is no longer the one it was read at
(another process applied that batch first). So each event is applied exactly once, and a
catch-up stopped anywhere (an exception, a killed process) leaves the rows and the position of
the last batch written, from where the next one resumes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from eventsourcing.persistence import Notification

R = TypeVar("R")
R_contra = TypeVar("R_contra", contravariant=True)


class TrackedStore(Protocol[R_contra]):
    """Where a projection keeps its rows and its tracking position."""

    def position(self) -> int:
        """The id of the last notification the projection has applied (0: none)."""

    def write(self, rows: Sequence[R_contra], expected: int, position: int) -> bool:
        """In one transaction: move the position from `expected` to `position` and write
        `rows`. False, and nothing written, if the position is no longer `expected`."""


Select = Callable[..., Sequence[Notification]]
"""`ApplicationRecorder.select_notifications(start, limit, topics=…)`."""


def catch_up(
    store: TrackedStore[R],
    select: Select,
    topics: Sequence[str],
    rows_of: Callable[[Sequence[Notification]], Sequence[R]],
    batch_size: int,
) -> int:
    """Apply every event of `topics` recorded after the store's position, `batch_size` at a
    time; the number this call applied (events another process applied meanwhile are not
    counted). `rows_of` is called with one batch, before its write, and may read the store as
    it stands at the batch's expected position."""
    applied = 0
    while True:
        expected = store.position()
        batch = select(expected + 1, batch_size, topics=list(topics))
        if not batch:
            return applied
        if store.write(rows_of(batch), expected, batch[-1].id):
            applied += len(batch)
            if len(batch) < batch_size:
                return applied
        # Otherwise another process applied this batch first: read on from there.
