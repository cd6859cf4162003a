"""One incident with many people (issue #8): N people registered, every case driven to its
referral sent, beside bare workflows of the same shape on the same dev server in the same run.

For each N of `--people` and each of `--runs`, a fresh stack: a real dev server (in memory),
an SMTP sink on loopback, Lotse's worker as its own process (`python -m worker`: SQLite store,
the payload codec, the shipped agreement) and the bare floors' worker as its own process
(`python -m bench.bare_worker`, the same activity threads, no codec). One incident is
declared and recorded, then, clock running:

1. the people are imported as `lotse cases import LIST --source police` does (`import_list`):
   N invented rows — invented names, example.org addresses, dates of birth all different,
   injured, four in five in Dresden, the others in Meißen, Sächsische Schweiz-Osterzgebirge
   and Leipzig — are checked, placed on the incident's roll, each case started and its
   registration recorded, the contact data recorded (the import's own pace: 32 cases at once);
2. each case gets the person's consent (Opferhilfe Sachsen: needs, name, phone; oral) and a
   psychosocial need assessed, the two updates one after the other, `--concurrency` cases at
   once;
3. until the record's notification log holds a `ReferralSent` of every one of the N people
   (read as an outside reader would, every 20 ms, only that topic past the last id seen).

The floor does the same on the bare worker: N `BenchBareCaseShape` started, its two updates,
its result (the same local and ordinary no-op activities up to "sent"), at the same
concurrency, the starts 32 at once as the import starts cases. Time per person is the wall
time of 1–3 over N, on each side; the goal is Lotse ≤ 1.5 × the floor. Step 1 alone is the
import figure, against the bare starts (which wait for nothing to be recorded).

The directory: offers run full. With the shipped capacities (40 places at Opferhilfe Sachsen
Dresden), Lotse's own choice would stay within them and escalate the rest to the office, so
most cases would never reach "sent". The benchmark loads the shipped directory with every
offer's capacity raised to `CAPACITY` instead (same offers, districts, languages): every case
is referred to its district's Opferhilfe office, all Dresden cases to `ohs-dresden`, one
offer's load aggregate taking thousands of places.

The worker's peak memory is the Lotse worker process's `VmHWM` (/proc/<pid>/status) at the
end of the run, beside the bare worker's. The CPU seconds each process spent (worker, bare
worker, dev server, this benchmark process with the SMTP sink) and what Temporal holds for a
sample of cases (history events and size, pending activities) and for the incident are printed
below the figures.

    .venv/bin/python -m bench.people_scale [--people 100 1000 5000] [--runs 1] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributeKey
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.testing import WorkflowEnvironment

from bench.case_referral import ASSESSMENT, CONSENT, OFFICE, REFERRAL_SENT_TOPIC
from bench.common import Figure, StoreKind, at_least, fresh_store, median, print_figures
from bench.stack import DECLARATION, REPO_ROOT, free_port
from bootstrap import build_application, connect
from cli import offers
from cli.agreement import load_into_store
from cli.importing import CONCURRENT_CASES, import_list
from cli.smtp_sink import MailSink
from codec.keys import ensure_key_file
from contracts.agreement import load_agreement_file
from contracts.directory_file import load_directory_file
from contracts.messages import Actor
from contracts.offers import DirectoryTerms
from contracts.people import RegistrationSource
from contracts.vocabulary import REGION_LABELS_DE, SEARCH_ATTRIBUTE_NAMES, Region, case_workflow_id
from domain.application import LotseApplication
from domain.errors import NotFoundError
from domain.ids import person_id
from settings import Settings
from workflows.converter import data_converter

T = TypeVar("T")
CAPACITY = 100_000
"""Places at every offer in the benchmark's directory: far above any N measured here."""
GOAL = 1.5
LOTSE = "Lotse worker"
BARE = "bare worker"
IMPORTER = Actor(**OFFICE)  # the office's staff imports the police list
CONCURRENCY = 50  # cases worked on at once, as a team of operators and the import would
POLL = 0.02  # between two reads of the record's notification log
STALL_SECONDS = 180  # no case progressed for this long: the benchmark gives up, saying so
WARM_UP_FIRST = 20_000  # the warm-up's rows: numbered after any measured row, born by 1985
WARM_UP = 3  # people (and bare cases) run before the clock starts, in the same incident
SAMPLE = 20  # cases whose Temporal history is described after the run
HEADERS = [
    "Nachname",
    "Vorname",
    "Geburtsdatum",
    "Telefon",
    "E-Mail",
    "Anschrift",
    "Betroffenheit",
    "Kreis",
    "Sprache",
]
SURNAMES = ["Zyxmüller", "Qwertzweiß", "Beispielmann", "Musterfeld", "Probstwitz", "Xanderle"]
LETTERS = "aeiouklmnr"  # a family name per number: names are compared by their letters only
FIRST_NAMES = ["Anna", "Jörg", "René", "Lina", "Mika", "Edda", "Ole", "Fritzi"]
REGIONS = [Region.DRESDEN] * 16 + [
    Region.MEISSEN,
    Region.MEISSEN,
    Region.SAECHSISCHE_SCHWEIZ_OSTERZGEBIRGE,
    Region.LEIPZIG,
]
"""Four in five in Dresden; every region here is served by an Opferhilfe office."""


# --- the people ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One invented person as a police list names them (German headers)."""

    number: int
    region: Region

    @property
    def cells(self) -> dict[str, str]:
        n = self.number
        born = date(1930, 1, 1) + timedelta(days=n)  # all different: no two rows are one person
        return {
            "Nachname": SURNAMES[n % len(SURNAMES)] + "".join(LETTERS[int(d)] for d in f"{n:05d}"),
            "Vorname": FIRST_NAMES[n % len(FIRST_NAMES)],
            "Geburtsdatum": born.strftime("%d.%m.%Y"),
            "Telefon": f"+49 351 555 {n:05d}",
            "E-Mail": f"person-{n:05d}@example.org",
            "Anschrift": f"Beispielweg {n}, 01067 Dresden",
            "Betroffenheit": "verletzt",
            "Kreis": REGION_LABELS_DE[self.region],
            "Sprache": "de",
        }


def invented_people(first: int, count: int) -> list[Row]:
    return [Row(n, REGIONS[n % len(REGIONS)]) for n in range(first, first + count)]


def write_list(path: Path, rows: Iterable[Row]) -> Path:
    """The rows as a police list: CSV with `;`, UTF-8."""
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=HEADERS, delimiter=";")
        writer.writeheader()
        for row in rows:
            writer.writerow(row.cells)
    return path


# --- the stack -----------------------------------------------------------------------------


def scale_directory(settings: Settings) -> DirectoryTerms:
    """The shipped directory with every offer's capacity raised to `CAPACITY`."""
    shipped = load_directory_file(settings.support_offers_file)
    return shipped.model_copy(
        update={"offers": [o.model_copy(update={"capacity": CAPACITY}) for o in shipped.offers]}
    )


def read_proc(pid: int) -> tuple[float, int]:
    """(CPU seconds, peak resident KiB) of a process."""
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(stat[11]) + int(stat[12])) / ticks  # utime, stime
    peak = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1])
    return cpu, peak


def dev_server_pid() -> int | None:
    """The dev server: the `temporal` child of this process."""
    me = str(os.getpid())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        if comm.startswith("temporal") and stat.rsplit(")", 1)[1].split()[1] == me:
            return int(entry.name)
    return None


@dataclass
class Processes:
    """CPU seconds of the processes that do the work, read between steps."""

    pids: dict[str, int]

    def cpu(self) -> dict[str, float]:
        return {name: read_proc(pid)[0] for name, pid in self.pids.items()}


@dataclass
class ScaleStack:
    lotse: Client
    bare: Client
    settings: Settings
    bare_queue: str
    reader: LotseApplication
    directory: Path
    processes: Processes
    worker_pid: int
    bare_pid: int


def _worker_env(settings: Settings, address: str) -> dict[str, str]:
    """The workers' environment: the stack's settings, and bytecode cached (in the stack's
    folder, not the work tree) as in the image, where `pip install .` compiles it. Without a
    cache the sandbox compiles the workflow's modules anew for every case it builds."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LOTSE_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    return env | {
        "PYTHONPYCACHEPREFIX": str(settings.data_dir / "pycache"),
        "LOTSE_DATA_DIR": str(settings.data_dir),
        "LOTSE_TEMPORAL_ADDRESS": address,
        "LOTSE_TASK_QUEUE": settings.task_queue,
        "LOTSE_SMTP_PORT": str(settings.smtp_port),
        "LOTSE_AGREEMENT_FILE": str(settings.agreement_file),
        "LOTSE_SUPPORT_OFFERS_FILE": str(settings.support_offers_file),
        "LOTSE_STORE": settings.store,
        "LOTSE_POSTGRES_HOST": settings.postgres_host,
        "LOTSE_POSTGRES_PORT": str(settings.postgres_port),
        "LOTSE_POSTGRES_USER": settings.postgres_user,
        "LOTSE_POSTGRES_DBNAME": settings.postgres_dbname,
        "LOTSE_POSTGRES_SCHEMA": settings.postgres_schema,
    }


def _log_text(log: Path) -> str:
    return log.read_text(errors="replace")


async def _until_logged(log: Path, process: subprocess.Popen[bytes], text: str) -> None:
    deadline = time.monotonic() + 60
    while text not in _log_text(log):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"worker did not start: {_log_text(log)[-2000:]}")
        await asyncio.sleep(0.05)


def _start(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )


@asynccontextmanager
async def scale_stack(store: StoreKind = "sqlite") -> AsyncIterator[ScaleStack]:
    """Dev server, SMTP sink, Lotse's worker process and the bare worker process; the record
    on `store` (PostgreSQL: a fresh schema in the database `test`, dropped afterwards)."""
    temporal = Path(sys.executable).parent / "temporal"
    port = free_port()
    address = f"127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data_dir, fresh_store(store) as record:
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(temporal),
            port=port,
            data_converter=data_converter,
            search_attributes=[SearchAttributeKey.for_keyword(n) for n in SEARCH_ATTRIBUTE_NAMES],
            dev_server_log_level="error",
            runtime=Runtime(
                telemetry=TelemetryConfig(
                    logging=LoggingConfig(
                        filter=TelemetryFilter(core_level="ERROR", other_level="ERROR")
                    )
                )
            ),
        )
        settings = record.settings.model_copy(
            update={
                "data_dir": Path(data_dir),
                "temporal_address": address,
                "task_queue": f"bench-lotse-{uuid.uuid4().hex}",
                "agreement_file": REPO_ROOT / "agreements" / "saxony.toml",
                "support_offers_file": REPO_ROOT / "agreements" / "support-offers.toml",
                "smtp_port": free_port(),
            }
        )
        bare_queue = f"bench-bare-{uuid.uuid4().hex}"
        started: list[subprocess.Popen[bytes]] = []
        reader: LotseApplication | None = None
        try:
            ensure_key_file(settings.codec_keys_path)
            operator = Actor(partner_id="opferbeauftragte", staff_ref="b-1")
            load_into_store(settings, load_agreement_file(settings.agreement_file), operator)
            offers.load_into_store(settings, scale_directory(settings), operator)
            reader = build_application(settings)
            with MailSink(settings.mail_dir, port=settings.smtp_port):
                logs = Path(data_dir)
                commands = [
                    ([sys.executable, "-m", "worker"], "worker.log", "worker polling"),
                    (
                        [sys.executable, "-m", "bench.bare_worker", address, bare_queue],
                        "bare-worker.log",
                        "bare worker polling",
                    ),
                ]
                for command, log_name, _ in commands:
                    started.append(_start(command, logs / log_name, _worker_env(settings, address)))
                for process, (_, log_name, ready) in zip(started, commands, strict=True):
                    await _until_logged(logs / log_name, process, ready)
                server = dev_server_pid()
                pids = {LOTSE: started[0].pid, BARE: started[1].pid}
                if server is not None:
                    pids["dev server"] = server
                pids["benchmark: import, SMTP sink"] = os.getpid()
                yield ScaleStack(
                    lotse=await connect(settings),
                    bare=env.client,
                    settings=settings,
                    bare_queue=bare_queue,
                    reader=reader,
                    directory=logs,
                    processes=Processes(pids),
                    worker_pid=started[0].pid,
                    bare_pid=started[1].pid,
                )
        finally:
            for process in started:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in started:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if reader is not None:
                reader.close()
            await env.shutdown()


# --- steps ---------------------------------------------------------------------------------


async def bounded(
    concurrency: int, items: Iterable[T], step: Callable[[T], Awaitable[Any]]
) -> None:
    """`step` for every item, at most `concurrency` at once; the first failure ends it."""
    gate = asyncio.Semaphore(concurrency)

    async def one(item: T) -> None:
        async with gate:
            await step(item)

    await asyncio.gather(*(one(item) for item in items))


async def declared_incident(stack: ScaleStack) -> str:
    incident_id = f"bench-{uuid.uuid4().hex[:12]}"
    await stack.lotse.start_workflow(
        "IncidentResponse", DECLARATION, id=incident_id, task_queue=stack.settings.task_queue
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            stack.reader.incident(incident_id)
            return incident_id
        except NotFoundError:
            if time.monotonic() > deadline:
                raise SystemExit("benchmark gave up waiting for the declaration") from None
            await asyncio.sleep(POLL)


async def register(stack: ScaleStack, incident_id: str, rows: list[Row]) -> list[str]:
    """Register `rows` for the incident as `lotse cases import` does (`import_list`: each row
    checked, placed on the incident's roll, its case started and its registration recorded, its
    contact data recorded); return their references, in the rows' order."""
    listing = write_list(stack.directory / f"list-{uuid.uuid4().hex[:8]}.csv", rows)
    summary = await import_list(
        stack.settings, listing, incident_id, RegistrationSource.POLICE_LIST, IMPORTER
    )
    if len(summary.registered) != len(rows) or summary.rejected or summary.unfinished:
        raise SystemExit(
            f"the import registered {len(summary.registered)} of {len(rows)} rows: "
            + "; ".join(str(problem) for problem in summary.rejected + summary.unfinished)
        )
    return summary.registered


async def give_consent_and_assess(handle: WorkflowHandle[Any, Any]) -> None:
    await handle.execute_update("give_consent", CONSENT)
    await handle.execute_update("assess_needs", ASSESSMENT)


class SentReferrals:
    """Which of the people the record holds a `ReferralSent` for, reading the notifications of
    that topic written since this reader was made."""

    def __init__(self, reader: LotseApplication) -> None:
        self._recorder = reader.recorder
        self._next = (self._recorder.max_notification_id() or 0) + 1
        self.waiting: set[UUID] = set()
        self.seen: set[UUID] = set()

    def expect(self, people: Iterable[UUID]) -> None:
        self.waiting |= set(people) - self.seen

    def poll(self) -> None:
        while True:
            batch = self._recorder.select_notifications(
                self._next, 1000, topics=[REFERRAL_SENT_TOPIC]
            )
            for notification in batch:
                person = UUID(str(notification.originator_id))
                self.seen.add(person)
                self.waiting.discard(person)
            if not batch:
                return
            self._next = batch[-1].id + 1

    async def all_sent(self) -> None:
        last_progress = time.monotonic()
        left = len(self.waiting)
        while True:
            self.poll()
            if not self.waiting:
                return
            if len(self.waiting) < left:
                left, last_progress = len(self.waiting), time.monotonic()
            elif time.monotonic() - last_progress > STALL_SECONDS:
                raise SystemExit(f"benchmark gave up: {left} referrals not sent")
            await asyncio.sleep(POLL)


@dataclass
class Timing:
    registered: float
    total: float
    cpu: dict[str, float] = field(default_factory=dict)
    """CPU seconds per process over the whole, and over the registration alone."""
    registration_cpu: dict[str, float] = field(default_factory=dict)


def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before[name] for name in before}


async def lotse_people(
    stack: ScaleStack, incident_id: str, rows: list[Row], concurrency: int
) -> Timing:
    sent = SentReferrals(stack.reader)
    before = stack.processes.cpu()
    started = time.perf_counter()
    refs = await register(stack, incident_id, rows)
    registered = time.perf_counter()
    at_registered = stack.processes.cpu()
    sent.expect(person_id(incident_id, ref) for ref in refs)

    async def drive(ref: str) -> None:
        handle = stack.lotse.get_workflow_handle(case_workflow_id(incident_id, ref))
        await give_consent_and_assess(handle)

    await bounded(concurrency, refs, drive)
    await sent.all_sent()
    done = time.perf_counter()
    after = stack.processes.cpu()
    return Timing(
        registered - started,
        done - started,
        spent(before, after),
        spent(before, at_registered),
    )


async def bare_people(stack: ScaleStack, count: int, concurrency: int) -> Timing:
    before = stack.processes.cpu()
    started = time.perf_counter()
    handles: list[WorkflowHandle[Any, Any]] = []

    async def start(number: int) -> None:
        handles.append(
            await stack.bare.start_workflow(
                "BenchBareCaseShape",
                number,
                id=f"bare-{uuid.uuid4().hex}",
                task_queue=stack.bare_queue,
            )
        )

    await bounded(CONCURRENT_CASES, range(count), start)  # as many as the import starts at once
    registered = time.perf_counter()
    at_registered = stack.processes.cpu()

    async def drive(handle: WorkflowHandle[Any, Any]) -> None:
        await handle.execute_update("consent", 0)
        await handle.execute_update("assess", 0)

    await bounded(concurrency, handles, drive)
    await bounded(concurrency, handles, lambda handle: handle.result())
    done = time.perf_counter()
    after = stack.processes.cpu()
    return Timing(
        registered - started,
        done - started,
        spent(before, after),
        spent(before, at_registered),
    )


@dataclass
class Limits:
    """What Temporal holds: the largest of the sampled cases, and the incident."""

    case_events: int
    case_bytes: int
    pending_activities: int
    incident_events: int


async def temporal_limits(stack: ScaleStack, incident_id: str, refs: list[str]) -> Limits:
    step = max(len(refs) // SAMPLE, 1)
    events = size = pending = 0
    for ref in refs[::step]:
        described = await stack.lotse.get_workflow_handle(
            case_workflow_id(incident_id, ref)
        ).describe()
        info = described.raw_description.workflow_execution_info
        events = max(events, info.history_length)
        size = max(size, info.history_size_bytes)
        pending = max(pending, len(described.raw_description.pending_activities))
    incident = await stack.lotse.get_workflow_handle(incident_id).describe()
    return Limits(
        events, size, pending, incident.raw_description.workflow_execution_info.history_length
    )


@dataclass
class Run:
    lotse: Timing
    bare: Timing
    worker_peak_kib: int
    bare_peak_kib: int
    limits: Limits


async def one_run(people: int, concurrency: int, store: StoreKind = "sqlite") -> Run:
    async with scale_stack(store) as stack:
        incident_id = await declared_incident(stack)
        warm = invented_people(WARM_UP_FIRST, WARM_UP)
        await bare_people(stack, WARM_UP, concurrency)
        refs = await register(stack, incident_id, warm)
        warm_sent = SentReferrals(stack.reader)
        warm_sent.expect(person_id(incident_id, ref) for ref in refs)
        for ref in refs:
            await give_consent_and_assess(
                stack.lotse.get_workflow_handle(case_workflow_id(incident_id, ref))
            )
        await warm_sent.all_sent()
        bare = await bare_people(stack, people, concurrency)
        rows = invented_people(1, people)
        lotse = await lotse_people(stack, incident_id, rows, concurrency)
        worker_peak = read_proc(stack.worker_pid)[1]
        bare_peak = read_proc(stack.bare_pid)[1]
        limits = await temporal_limits(stack, incident_id, [f"PL-{r.number:05d}" for r in rows])
        return Run(lotse, bare, worker_peak, bare_peak, limits)


# --- figures -------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


def mib(kib: float) -> str:
    return f"{kib / 1024:.0f} MiB"


def figures(people: int, runs: list[Run], concurrency: int) -> list[Figure]:
    per_person = median([r.lotse.total / people for r in runs])
    floor = median([r.bare.total / people for r in runs])
    ratio = median([r.lotse.total / r.bare.total for r in runs])
    command = f"python -m bench.people_scale --people {people}"
    return [
        Figure(
            name=f"{people:,} people imported and driven to referral sent, "
            f"{concurrency} at once, time per person",
            measured=ms(per_person),
            floor=f"{ms(floor)} bare case shape, same steps and concurrency",
            ratio=ratio,
            goal=f"≤ {GOAL}",
            met=ratio <= GOAL,
            command=command,
        ),
        Figure(
            name=f"… the import of the {people:,} rows",
            measured=seconds(median([r.lotse.registered for r in runs])),
            floor=f"{seconds(median([r.bare.registered for r in runs]))} bare starts",
            ratio=median([r.lotse.registered / r.bare.registered for r in runs]),
            goal=None,
            met=None,
            command="(same)",
        ),
        Figure(
            name="… the worker's peak memory (VmHWM of its process)",
            measured=mib(median([r.worker_peak_kib for r in runs])),
            floor=f"{mib(median([r.bare_peak_kib for r in runs]))} bare worker process",
            ratio=median([r.worker_peak_kib / r.bare_peak_kib for r in runs]),
            goal=None,
            met=None,
            command="(same)",
        ),
    ]


def cpu_per_person(cpu: dict[str, float], people: int, worker: str) -> str:
    """CPU per person of the worker on that side, the dev server and this process."""
    parts = {
        "worker": worker,
        "dev server": "dev server",
        "benchmark": "benchmark: import, SMTP sink",
    }
    return ", ".join(
        f"{label} {cpu.get(name, 0.0) / people * 1000:.1f} ms" for label, name in parts.items()
    )


def details(people: int, runs: list[Run]) -> list[str]:
    lines = []
    for number, run in enumerate(runs, 1):
        limits = run.limits
        head = f"  {people:,} people, run {number}:"
        lines += [
            f"{head} CPU per person: Lotse — {cpu_per_person(run.lotse.cpu, people, LOTSE)}"
            f"; bare — {cpu_per_person(run.bare.cpu, people, BARE)}",
            f"{head} … of which in the import: Lotse — "
            f"{cpu_per_person(run.lotse.registration_cpu, people, LOTSE)}; bare starts — "
            f"{cpu_per_person(run.bare.registration_cpu, people, BARE)}",
            f"{head} Temporal: a case's history at most {limits.case_events} events, "
            f"{limits.case_bytes / 1024:.0f} KiB, {limits.pending_activities} pending activities "
            f"({min(SAMPLE, people)} cases sampled); the incident's history "
            f"{limits.incident_events} events",
        ]
    return lines


async def measure_figures(people: list[int], runs: int, concurrency: int) -> list[Figure]:
    """The figures alone, as `bench.all` prints them."""
    return (await measure(people, runs, concurrency))[0]


async def measure(
    people: list[int], runs: int, concurrency: int, store: StoreKind = "sqlite"
) -> tuple[list[Figure], list[str]]:
    result: list[Figure] = []
    lines: list[str] = []
    for count in people:
        measured = [await one_run(count, concurrency, store) for _ in range(runs)]
        result += figures(count, measured, concurrency)
        lines += details(count, measured)
    return result, lines


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def people_count(text: str) -> int:
    """At least 1, and numbered below the warm-up's rows."""
    value = at_least(1)(text)
    if value >= WARM_UP_FIRST:
        raise argparse.ArgumentTypeError(f"{value} is too large: at most {WARM_UP_FIRST - 1}")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=people_count, nargs="+", default=[100, 1000])
    parser.add_argument("--runs", type=at_least(1), default=1)
    parser.add_argument("--concurrency", type=at_least(1), default=CONCURRENCY)
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    arguments = parser.parse_args()
    print(
        f"people {', '.join(str(p) for p in arguments.people)}; {arguments.concurrency} at once; "
        f"median of {arguments.runs} run(s); store {arguments.store}; "
        f"load average before: {os.getloadavg()[0]:.1f}"
    )
    signal.signal(signal.SIGTERM, _interrupted)  # stopped from outside: the workers stop too
    found, lines = asyncio.run(
        measure(arguments.people, arguments.runs, arguments.concurrency, arguments.store)
    )
    print_figures(found)
    print("\n".join(lines))
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
