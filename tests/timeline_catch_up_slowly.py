"""A process that catches the timeline up in batches of two and stops inside each write, after
its rows are inserted and before they are committed, until it is killed; it prints
`inserted N` (N the position that batch moves to) when it stops there.

    python -m tests.timeline_catch_up_slowly '<event store env as JSON>'

Used by tests/integration/test_timeline.py to kill a catch-up in the middle of a batch.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from typing import Any

from domain.application import LotseApplication
from domain.timeline import TimelineRow

BATCH = 2
SECONDS_IN_EACH_WRITE = 0.3


def main() -> None:
    app = LotseApplication(env=json.loads(sys.argv[1]))
    projector = app._timeline()
    store: Any = projector.store
    insert = store._insert

    def insert_then_wait(*args: Any) -> None:
        insert(*args)
        rows: Sequence[TimelineRow] = args[-1]
        print(f"inserted {rows[-1].seq}", flush=True)
        time.sleep(SECONDS_IN_EACH_WRITE)

    store._insert = insert_then_wait
    projector.catch_up(batch_size=BATCH)
    print("done", flush=True)


if __name__ == "__main__":
    main()
