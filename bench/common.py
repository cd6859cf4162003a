"""What the goal benchmarks share: fresh stores (a temporary SQLite folder or a fresh PostgreSQL
schema, dropped afterwards), command contexts, one declared incident, and medians over runs.

Every figure is reported beside a floor measured in the same run, so that a slower machine
moves both and the ratio stays comparable (issue #6, point 2).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from contracts.agreement import AgreementTerms, load_agreement_file
from contracts.messages import Actor, CommandContext, IncidentDeclaration, NeedReport
from contracts.vocabulary import ActorChannel, IncidentKind, NeedCategory, Region
from domain.application import LotseApplication
from settings import Settings

AGREEMENT_FILE = Path(__file__).resolve().parent.parent / "agreements" / "saxony.toml"
INCIDENT = "bench-2026-11-14"
POSTGRES_HOST = "127.0.0.1"
POSTGRES_PORT = 5432
POSTGRES_USER = "postgres"
POSTGRES_DBNAME = "test"
POSTGRES_CONNINFO = make_conninfo(
    host=POSTGRES_HOST,
    port=POSTGRES_PORT,
    user=POSTGRES_USER,
    dbname=POSTGRES_DBNAME,
    connect_timeout=3,
)
StoreKind = Literal["sqlite", "postgres"]
NEED = [NeedReport(category=NeedCategory.PSYCHOSOCIAL, region=Region.LEIPZIG, count=1)]


@dataclass(frozen=True)
class Store:
    """Where one measurement writes: the application's settings and, for the raw floor, the
    SQLite file or PostgreSQL schema it may use beside them."""

    kind: StoreKind
    settings: Settings
    folder: Path
    schema: str | None


@contextmanager
def fresh_store(kind: StoreKind) -> Iterator[Store]:
    """An empty store of `kind`; gone afterwards (folder removed, schema dropped)."""
    with tempfile.TemporaryDirectory() as folder:
        if kind == "sqlite":
            settings = Settings(store="sqlite", data_dir=Path(folder), sqlite_path=None)
            yield Store(kind, settings, Path(folder), None)
            return
        # The recorder qualifies its tables with the schema but does not create it.
        schema = f"bench_{uuid.uuid4().hex}"
        with psycopg.connect(POSTGRES_CONNINFO, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        try:
            settings = Settings(
                store="postgres",
                postgres_host=POSTGRES_HOST,
                postgres_port=POSTGRES_PORT,
                postgres_user=POSTGRES_USER,
                postgres_dbname=POSTGRES_DBNAME,
                postgres_schema=schema,
            )
            yield Store(kind, settings, Path(folder), schema)
        finally:
            with psycopg.connect(POSTGRES_CONNINFO, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def ctx() -> CommandContext:
    return CommandContext(
        command_id=str(uuid.uuid4()),
        actor=Actor(partner_id="opferbeauftragte", staff_ref="lagedienst-1"),
        channel=ActorChannel.UI,
        business_time=datetime.now(UTC),
        workflow_id="wf-bench",
        run_id="run-bench",
    )


def declared_application(settings: Settings, incidents: int = 1) -> LotseApplication:
    """An application on `settings` with the shipped agreement loaded and INCIDENT declared
    (and `incident_key(1)` … for more than one)."""
    terms: AgreementTerms = load_agreement_file(AGREEMENT_FILE)
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
    for number in range(incidents):
        app.declare_incident(incident_key(number), declaration, terms.agreement_id, ctx())
    return app


def incident_key(number: int) -> str:
    """INCIDENT for the first, then one incident id per further writer."""
    return INCIDENT if number == 0 else f"{INCIDENT}-{number}"


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer not below `minimum`, else a one-line error naming the rule."""

    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is too small: must be at least {minimum}")
        return value

    parse.__name__ = f"integer ≥ {minimum}"
    return parse


def median(values: list[float]) -> float:
    return statistics.median(values)


@dataclass(frozen=True)
class Figure:
    """One line of the benchmark table: what Lotse did, its floor in the same run, the ratio
    (always "bigger is better" or "smaller is better" as the goal says) and the goal. A figure
    asked for without a goal (issue #7) has `goal` and `met` None."""

    name: str
    measured: str
    floor: str
    ratio: float
    goal: str | None
    met: bool | None
    command: str

    def verdict(self, missed: str = "missed") -> str:
        """`≤ 2: met`, `≥ 0.5: missed` (spelt `missed`), or `none set`."""
        if self.goal is None:
            return "none set"
        return f"{self.goal}: {'met' if self.met else missed}"

    def line(self) -> str:
        return (
            f"{self.name}: {self.measured} | floor {self.floor} | "
            f"ratio {self.ratio:.2f} (goal {self.verdict()})"
        )


def print_figures(figures: list[Figure]) -> None:
    for figure in figures:
        print(figure.line())
