"""What one domain command costs as an incident's stream grows (issue #6, point 1).

Runs N needs reports on one incident in a fresh SQLite store and prints the time of the
10th, 100th and Nth command (median of the five commands around each).

    .venv/bin/python -m bench.command_cost [N]
"""

from __future__ import annotations

import sys
import time

from bench.common import INCIDENT, NEED, ctx, declared_application, fresh_store, median
from domain.application import LotseApplication


def main(commands: int) -> None:
    with fresh_store("sqlite") as store:
        app = declared_application(store.settings)
        seconds: list[float] = []
        for _ in range(commands):
            started = time.perf_counter()
            app.report_needs(INCIDENT, NEED, ctx())
            seconds.append(time.perf_counter() - started)
        app.close()
        # A new process (a restarted worker, a CLI command) rebuilds the incident once.
        fresh = LotseApplication(env=store.settings.event_store_env())
        started = time.perf_counter()
        fresh.incident(INCIDENT)
        cold = time.perf_counter() - started
        fresh.close()
    for nth in (10, 100, commands):
        around = seconds[max(0, nth - 3) : nth + 2]
        print(f"command {nth:>5}: {median(around) * 1000:8.2f} ms")
    print(f"all {commands} commands: {sum(seconds):.1f} s")
    print(f"first read of the {commands + 1}-event incident, new application: {cold * 1000:.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
