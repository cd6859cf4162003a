"""What one domain command costs as an incident's stream grows (issue #6, point 1).

Runs N needs reports on one incident in a fresh SQLite store and prints the time of the
10th, 100th and Nth command (median of the five commands around each).

    .venv/bin/python -m bench.command_cost [N]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from contracts.agreement import AgreementTerms, load_agreement_file
from contracts.messages import Actor, CommandContext, IncidentDeclaration, NeedReport
from contracts.vocabulary import ActorChannel, IncidentKind, NeedCategory, Region
from domain.application import LotseApplication
from settings import Settings

INCIDENT = "bench-2026-11-14"
AGREEMENT_FILE = Path(__file__).resolve().parent.parent / "agreements" / "saxony.toml"


def ctx() -> CommandContext:
    return CommandContext(
        command_id=str(uuid.uuid4()),
        actor=Actor(partner_id="opferbeauftragte", staff_ref="lagedienst-1"),
        channel=ActorChannel.UI,
        business_time=datetime.now(UTC),
        workflow_id="wf-bench",
        run_id="run-bench",
    )


def main(commands: int) -> None:
    terms: AgreementTerms = load_agreement_file(AGREEMENT_FILE)
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(store="sqlite", data_dir=Path(folder), sqlite_path=None)
        app = LotseApplication(env=settings.event_store_env())
        app.load_agreement(terms, ctx())
        declaration = IncidentDeclaration(
            title="Bench",
            kind=IncidentKind.EXTREMIST,
            occurred_at=datetime.now(UTC),
            location="Leipzig",
            region=Region.LEIPZIG,
            declared_by=Actor(partner_id="opferbeauftragte", staff_ref="lagedienst-1"),
        )
        app.declare_incident(INCIDENT, declaration, terms.agreement_id, ctx())
        need = [NeedReport(category=NeedCategory.PSYCHOSOCIAL, region=Region.LEIPZIG, count=1)]
        seconds: list[float] = []
        for _ in range(commands):
            started = time.perf_counter()
            app.report_needs(INCIDENT, need, ctx())
            seconds.append(time.perf_counter() - started)
        app.close()
        # A new process (a restarted worker, a CLI command) rebuilds the incident once.
        fresh = LotseApplication(env=settings.event_store_env())
        started = time.perf_counter()
        fresh.incident(INCIDENT)
        cold = time.perf_counter() - started
        fresh.close()
    for nth in (10, 100, commands):
        around = seconds[max(0, nth - 3) : nth + 2]
        print(f"command {nth:>5}: {statistics.median(around) * 1000:8.2f} ms")
    print(f"all {commands} commands: {sum(seconds):.1f} s")
    print(f"first read of the {commands + 1}-event incident, new application: {cold * 1000:.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
