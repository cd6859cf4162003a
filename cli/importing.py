"""Registering everyone on a list: each row a person, each person one case (issue #8).

Every row is first checked on its own; a bad row is reported by line and field and the others
go on. Each good row is then placed on the incident's roll (domain/roll.py) by its identity
keys, which gives its reference: a new one, the one of the same person from another list
(*linked*), or the one the row got when the list was imported before (*seen*). Then its case
is started — a case already running is used as it is — and the row's contact data is written
straight into the record once the case has recorded the registration, never through Temporal.

So the same list imported twice registers nobody twice, and an import stopped half-way (Ctrl-C,
a killed worker) is finished by running it again: rows done before are seen, started cases are
used, contact data already recorded is recorded once.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import os
import secrets
import stat
import time
import tomllib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from cli.common import CliError, connect_client, open_application
from cli.lists import ListedPerson, ListFileError, RowProblem, parse_row, read_list
from cli.person import contact_context, start_workflow
from cli.updates import worker_polls
from contracts.agreement import explain_validation_error
from contracts.case_messages import RegisterPerson
from contracts.messages import Actor, CommandContext
from contracts.people import ContactData, RegistrationSource
from contracts.vocabulary import ActorChannel
from domain.application import LotseApplication
from domain.errors import PersonErasedError, PersonNotFoundError
from domain.identity import identity_keys
from domain.roll import Listing, Match
from settings import Settings

SOURCES: dict[str, RegistrationSource] = {
    "police": RegistrationSource.POLICE_LIST,
    "police-list": RegistrationSource.POLICE_LIST,
    "red-cross": RegistrationSource.RED_CROSS,
    "hotline": RegistrationSource.HOTLINE,
}
CONCURRENT_CASES = 32
"""Cases started and waited for at once: enough to keep the worker busy, few enough that a
stopped worker is noticed after one wait, not after thousands."""
PLACED_AT_ONCE = 100
"""Rows placed on the roll in one transaction: a commit per row was most of the time."""
IDENTITY_KEY_BYTES = 32


@dataclass
class ImportSummary:
    """What an import did, row by row counted once."""

    registered: list[str] = field(default_factory=list)
    linked: list[tuple[int, str]] = field(default_factory=list)  # line, reference
    seen: int = 0
    likely: list[tuple[int, str]] = field(default_factory=list)  # pair number, reference
    rejected: list[RowProblem] = field(default_factory=list)
    unfinished: list[RowProblem] = field(default_factory=list)
    erased: int = 0
    finished_now: int = 0
    """Of the rows imported before, those an earlier, stopped run left without the case's
    registration or the contact data, and this run finished."""


@dataclass(frozen=True)
class _Row:
    person: ListedPerson
    registration: RegisterPerson
    match: Match


# --- the identity key --------------------------------------------------------------------------


def identity_key(settings: Settings) -> bytes:
    """The HMAC key of identity comparisons: `LOTSE_IDENTITY_KEY`, or the key file, made on
    first use (mode 0600). Every import of an incident must use the same key, or the same
    person is no longer recognised — it is never rotated."""
    given = settings.identity_key.get_secret_value()
    if given:
        return _decoded(given, "LOTSE_IDENTITY_KEY")
    path = settings.identity_key_path
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(base64.b64encode(secrets.token_bytes(IDENTITY_KEY_BYTES)).decode() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as error:
        raise CliError(f"{path}: the identity key cannot be read: {error}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CliError(
            f"{path}: other users may read the identity key (mode {stat.S_IMODE(mode):o}); "
            f"run `chmod 600 {path}`"
        )
    return _decoded(text.strip(), str(path))


def _decoded(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise CliError(f"{where}: the identity key is not base64") from None
    if len(key) < IDENTITY_KEY_BYTES:
        raise CliError(f"{where}: the identity key must have at least {IDENTITY_KEY_BYTES} bytes")
    return key


# --- column mapping ----------------------------------------------------------------------------

COLUMNS = (
    *("Nachname", "Vorname", "Geburtsdatum", "Telefon", "E-Mail", "Anschrift"),
    *("Betroffenheit", "Kreis", "Sprache"),
)


def read_mapping(path: Path) -> dict[str, str]:
    """A mapping file's `[columns]`: Lotse's column = the list's header, e.g.
    `Nachname = "Familienname"`. Returns the list's header → Lotse's column."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CliError(f"{path}: cannot read: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise CliError(f"{path}: not a TOML mapping file: {error}") from None
    columns = data.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise CliError(f'{path}: needs a [columns] table, e.g. Nachname = "Familienname"')
    unknown = sorted(set(columns) - set(COLUMNS))
    if unknown:
        raise CliError(
            f"{path}: [columns] names no column of Lotse's: {', '.join(unknown)} "
            f"(the columns are {', '.join(COLUMNS)})"
        )
    if not all(isinstance(header, str) and header.strip() for header in columns.values()):
        raise CliError(f"{path}: each column in [columns] maps to a header (a text)")
    return {str(header): ours for ours, header in columns.items()}


# --- the import --------------------------------------------------------------------------------


Progress = Callable[[str, int, int], None]
"""Called with a phase ("checking", "registering"), the rows done and the rows in all."""


async def import_list(
    settings: Settings,
    path: Path,
    incident_id: str,
    source: RegistrationSource,
    actor: Actor,
    *,
    mapping: dict[str, str] | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Register everyone on the list at `path`; see the module's description."""
    report = progress or (lambda phase, done, total: None)
    summary_ = ImportSummary()
    people = _read(path, mapping, summary_)
    key = identity_key(settings)
    # The threads end before the store closes (`with` leaves them first).
    with open_application(settings) as store, _store_threads() as threads:
        store.incident(incident_id)  # a clear error before anything is placed
        client = await connect_client(settings)
        await _worker_is_polling(client, settings)
        rows = _place(store, people, incident_id, source, actor, key, summary_, report)
        await _register(settings, client, store, threads, rows, actor, summary_, report)
    return summary_


@contextmanager
def _store_threads() -> Iterator[ThreadPoolExecutor]:
    """Threads of the import's own for its reads and writes of the record, waited for on the
    way out, Ctrl-C included. With `asyncio.to_thread` a call still running when Ctrl-C closed
    the store used a closed SQLite connection, and the process died of a segmentation fault."""
    threads = ThreadPoolExecutor(CONCURRENT_CASES, thread_name_prefix="lotse-import")
    try:
        yield threads
    finally:
        threads.shutdown(wait=True, cancel_futures=True)


def _read(
    path: Path, mapping: dict[str, str] | None, summary_: ImportSummary
) -> list[ListedPerson]:
    try:
        rows = list(read_list(path, mapping))
    except ListFileError as error:
        raise CliError(str(error)) from None
    except OSError as error:
        raise CliError(f"{path}: cannot read: {error.strerror}") from None
    people: list[ListedPerson] = []
    for row in rows:
        parsed = parse_row(row)
        if isinstance(parsed, RowProblem):
            summary_.rejected.append(parsed)
        else:
            people.append(parsed)
    return people


async def _worker_is_polling(client: Client, settings: Settings) -> None:
    last_seen = await worker_polls(client, settings.temporal_namespace, settings.task_queue)
    if last_seen is not None:
        raise CliError(
            f"no worker polls task queue {settings.task_queue} — nothing was imported; start "
            "the worker (`make run` or `python -m worker`) and run the import again"
        )


def _place(
    store: LotseApplication,
    people: list[ListedPerson],
    incident_id: str,
    source: RegistrationSource,
    actor: Actor,
    key: bytes,
    summary_: ImportSummary,
    report: Progress,
) -> list[_Row]:
    """Each row's reference from the roll; a row whose registration is invalid is rejected
    before it is placed, so it leaves nothing behind."""
    rows: list[_Row] = []
    ctx = CommandContext(
        command_id="listing",  # replaced by the listing's own id
        actor=actor,
        channel=ActorChannel.CLI,
        business_time=datetime.now(UTC),
    )
    valid: list[tuple[ListedPerson, dict[str, Any], Listing]] = []
    for person in people:
        facts = {
            "incident_id": incident_id,
            "involvement": person.involvement,
            "source": source,
            "region": person.region,
            "language": person.language,
            "registered_by": actor.model_dump(),
            "channel": ActorChannel.CLI,
        }
        try:
            RegisterPerson.model_validate({**facts, "person_ref": "XX-00000"})
        except ValidationError as error:
            problems = explain_validation_error(error).split("; ")
            summary_.rejected.append(RowProblem(line=person.line, problems=problems))
            continue
        contact = person.contact
        keys = identity_keys(contact.name, contact.date_of_birth, key)
        listing = Listing(
            source=source,
            exact=keys.exact,
            sound=keys.sound,
            born_known=contact.date_of_birth is not None,
            row=person.line,
        )
        valid.append((person, facts, listing))
    for start in range(0, len(valid), PLACED_AT_ONCE):
        batch = valid[start : start + PLACED_AT_ONCE]
        placed_batch = store.place_listings(incident_id, [item[2] for item in batch], ctx)
        for (person, facts, _), placed in zip(batch, placed_batch, strict=True):
            registration = RegisterPerson.model_validate({**facts, "person_ref": placed.ref})
            rows.append(_Row(person, registration, placed.match))
            if placed.match is Match.NEW:
                summary_.registered.append(placed.ref)
                summary_.likely += [(pair, placed.ref) for pair in placed.pairs]
            elif placed.match is Match.LINKED:
                summary_.linked.append((person.line, placed.ref))
            else:
                summary_.seen += 1
        report("checking", start + len(batch), len(valid))
    summary_.rejected.sort(key=lambda problem: problem.line)
    return rows


async def _register(
    settings: Settings,
    client: Client,
    store: LotseApplication,
    threads: ThreadPoolExecutor,
    rows: list[_Row],
    actor: Actor,
    summary_: ImportSummary,
    report: Progress,
) -> None:
    """Start each row's case and record its contact data, a few at a time. The first row
    whose case does not record its registration in time stops the rest: they are listed as
    unfinished, for the import to be run again."""
    gate = asyncio.Semaphore(CONCURRENT_CASES)
    stalled: list[str] = []
    done = 0

    async def one(row: _Row) -> None:
        nonlocal done
        async with gate:
            if stalled:
                summary_.unfinished.append(RowProblem(row.person.line, [stalled[0]]))
                _not_counted(summary_, row)
                return
            try:
                await _one_row(settings, client, store, threads, row, actor, summary_)
            except _StalledError as error:
                stalled.append(str(error))
                summary_.unfinished.append(RowProblem(row.person.line, [str(error)]))
                _not_counted(summary_, row)
            done += 1
            report("registering", done, len(rows))

    await asyncio.gather(*(one(row) for row in rows))
    summary_.unfinished.sort(key=lambda problem: problem.line)


def _not_counted(summary_: ImportSummary, row: _Row) -> None:
    """An unfinished row counts as unfinished only, not as registered, linked or seen."""
    ref = row.registration.person_ref
    if row.match is Match.NEW:
        summary_.registered.remove(ref)
    elif row.match is Match.LINKED:
        summary_.linked.remove((row.person.line, ref))
    else:
        summary_.seen -= 1


class _StalledError(Exception):
    """A case that did not record its registration in time."""


async def _one_row(
    settings: Settings,
    client: Client,
    store: LotseApplication,
    threads: ThreadPoolExecutor,
    row: _Row,
    actor: Actor,
    summary_: ImportSummary,
) -> None:
    registration = row.registration
    incident_id, ref = registration.incident_id, registration.person_ref
    in_thread = asyncio.get_running_loop().run_in_executor
    registered = await in_thread(threads, _registered, store, incident_id, ref)
    if not registered:
        await _start(settings, client, registration)
        deadline = time.monotonic() + settings.import_wait_seconds
        while not await in_thread(threads, _registered, store, incident_id, ref):
            if time.monotonic() > deadline:
                raise _StalledError(
                    f"the case of {ref} did not record its registration within "
                    f"{settings.import_wait_seconds:g}s (is the worker running?)"
                )
            await asyncio.sleep(0.1)
    try:
        contact_recorded = await in_thread(
            threads, _record_contact, store, incident_id, ref, row, actor
        )
    except PersonErasedError:
        summary_.erased += 1  # erased since: a list imported again brings nothing back
        return
    if row.match is Match.SEEN and (contact_recorded or not registered):
        summary_.finished_now += 1


def _registered(store: LotseApplication, incident_id: str, ref: str) -> bool:
    try:
        store.person(incident_id, ref)
    except PersonNotFoundError:
        return False
    return True


async def _start(settings: Settings, client: Client, registration: RegisterPerson) -> None:
    try:
        await start_workflow(client, settings, registration)
    except WorkflowAlreadyStartedError:
        return  # ended meanwhile (closed, erased): its record answers for it
    except RPCError as error:
        raise _StalledError(f"Temporal did not start the case: {error.message}") from None


def _record_contact(
    store: LotseApplication, incident_id: str, ref: str, row: _Row, actor: Actor
) -> bool:
    """The row's contact data; False if there was nothing to add. For a person with contact
    data recorded (from another list, or typed since), only the fields missing there are
    added: nothing recorded is replaced."""
    contact = row.person.contact
    recorded = store.contact_of(incident_id, ref)
    if recorded is not None:
        contact = merged_contact(recorded, contact)
        if contact == recorded:
            return False
    ctx = contact_context(incident_id, ref, actor, contact, ActorChannel.CLI)
    store.record_contact(incident_id, ref, contact, ctx)
    return True


def merged_contact(recorded: ContactData, listed: ContactData) -> ContactData:
    fields: dict[str, Any] = recorded.model_dump()
    for name, value in listed.model_dump().items():
        if fields.get(name) is None and value is not None:
            fields[name] = value
    return ContactData.model_validate(fields)
