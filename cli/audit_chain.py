"""`lotse audit verify | checkpoint | keys`: whether the record is intact (issue #9, point 1).

`verify` recomputes the hash chain over every stored event (domain/chain_verify.py) and names
each event found altered, deleted, inserted or reordered; with a signed checkpoint it also
catches the newest events cut off together with their links. It reads the event store only,
through the store's own recorder and plain SQL: Temporal may be down. Exit 0: intact; exit 1:
findings (or a checkpoint that is refused).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from cli.audit_reads import AuditorOpt, AuditStaffOpt, auditor, record_read_in
from cli.common import (
    CliError,
    console,
    fail,
    invocation_settings,
    missing_store_message,
    reports_errors,
)
from cli.render import print_text
from contracts.accountability import AuditCommand, AuditReadRequest
from domain import ids
from domain.chain_checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_private_key,
    load_public_key,
    signed_checkpoint,
    write_key_pair,
)
from domain.chain_sqlite import ChainedSQLiteApplicationRecorder
from domain.chain_verify import CheckpointClaim, Report, verify_chain
from domain.event_chain import ChainSnapshot
from domain.postgres_store import ChainedPostgresApplicationRecorder
from settings import Settings

HEAD_PREFIX = 16
"""Hex digits of the head hash shown in the OK line (the JSON has all 64)."""
PROGRESS_FROM = 50_000
"""Events from which a terminal shows progress on stderr."""


ChainedRecorder = ChainedSQLiteApplicationRecorder | ChainedPostgresApplicationRecorder


@contextmanager
def chained_store(settings: Settings) -> Iterator[ChainedRecorder]:
    """The configured store's chained recorder (no application, no key store: the commands
    read stored rows only). A missing SQLite store is an error, never created."""
    if settings.store == "sqlite" and not settings.event_store_path.is_file():
        raise CliError(missing_store_message(settings))
    factory = InfrastructureFactory.construct(Environment("Lotse", settings.event_store_env()))
    try:
        recorder = factory.application_recorder()
        if not isinstance(recorder, ChainedRecorder):
            raise CliError(f"the configured event store ({type(recorder).__name__}) keeps no chain")
        yield recorder
    finally:
        factory.close()


@reports_errors
def verify(
    ctx: typer.Context,
    incident: Annotated[
        str | None,
        typer.Argument(
            metavar="[INCIDENT]",
            help="Name findings only in this incident's streams (the whole chain is checked).",
        ),
    ] = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="A checkpoint from `lotse audit checkpoint`."),
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="The public key the checkpoint is verified with."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
    *,
    partner: AuditorOpt,
    staff: AuditStaffOpt,
) -> None:
    """Recompute the record's hash chain: OK, or each event altered, deleted, inserted or
    reordered (exit 1)."""
    if (checkpoint is None) != (public_key is None):
        raise typer.BadParameter(
            "--checkpoint and --public-key go together: the checkpoint is only believed once "
            "its signature verifies"
        )
    reader = auditor(partner, staff)
    claim = None
    if checkpoint is not None and public_key is not None:
        claim = _checkpoint_claim(checkpoint, public_key)
    settings = invocation_settings(ctx)
    if incident is not None:
        # Asked of the chain, not the incident aggregate: a damaged incident still verifies.
        with chained_store(settings) as store, store.chain_snapshot() as snapshot:
            if not snapshot.holds_stream(ids.incident_id(incident).hex):
                raise CliError(f"incident '{incident}' is not in the record")
    # Recorded before the chain is read, so the verification checks its own read too.
    record_read_in(settings, reader, _read(incident, checkpoint, as_json))
    with chained_store(settings) as store, store.chain_snapshot() as snapshot:
        report = _verified(snapshot, claim, incident)
    if as_json:
        typer.echo(json.dumps(report_json(report), ensure_ascii=False, indent=2))
    else:
        print_report(console(), report)
    if not report.intact:
        count = len(report.findings)
        fail(f"the record was changed: {count} finding{'s' if count != 1 else ''}")


def _read(incident: str | None, checkpoint: Path | None, as_json: bool) -> AuditReadRequest:
    return AuditReadRequest(
        command=AuditCommand.VERIFY,
        incident_key=incident,
        options={"--checkpoint": str(checkpoint)} if checkpoint is not None else {},
        output_format="json" if as_json else "text",
    )


def _checkpoint_claim(checkpoint: Path, public_key: Path) -> CheckpointClaim:
    try:
        return load_checkpoint(checkpoint, load_public_key(public_key))
    except CheckpointError as error:
        raise CliError(f"{error} — the checkpoint is refused") from None


def _verified(
    snapshot: ChainSnapshot, claim: CheckpointClaim | None, incident: str | None
) -> Report:
    """`verify_chain`, with progress on stderr when it is a terminal and the run is long."""
    head = snapshot.head()
    if not sys.stderr.isatty() or head is None or head[0] < PROGRESS_FROM:
        return verify_chain(snapshot, checkpoint=claim, incident=incident)
    with _progress(head[0]) as advance:
        return verify_chain(snapshot, checkpoint=claim, incident=incident, progress=advance)


@contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None]]:
    progress = Progress(
        TextColumn("verifying the chain"),
        BarColumn(),
        TextColumn("{task.completed:,} of {task.total:,}"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with progress:
        task = progress.add_task("verify", total=total)
        yield lambda reached: progress.update(task, completed=reached)


def print_report(out: Console, report: Report) -> None:
    """The OK line (or one line per finding), then what the chain vouches for and since when."""
    for introduction in report.introductions:
        print_text(
            out,
            f"note: events {introduction.first_notification_id}–"
            f"{introduction.last_notification_id} were chained when the chain was introduced "
            f"on {introduction.introduced_at}; they are vouched for from then",
        )
    if report.checkpoint is not None:
        claim = report.checkpoint
        verdict = "matches" if report.intact else "see below"
        print_text(
            out,
            f"checkpoint of {claim.made_at} (notification {claim.notification_id}, head "
            f"{claim.head_hash.hex()[:HEAD_PREFIX]}): {verdict}",
        )
    for finding in report.findings:
        print_text(out, finding.line())
    if report.intact:
        print_text(out, ok_line(report))
    if report.outside_incident:
        print_text(
            out,
            f"note: {report.outside_incident} finding(s) in streams of other incidents or of "
            "none: `lotse audit verify` without INCIDENT names them",
        )


def ok_line(report: Report) -> str:
    """`OK: N events, chain intact up to notification H (head <prefix>)`."""
    if report.head is None:
        return "OK: no events recorded yet"
    head_id, head_hash = report.head
    head = f"(head {head_hash.hex()[:HEAD_PREFIX]})"
    if report.incident is not None:
        return (
            f"OK: no finding in the streams of incident {report.incident}; {report.events} "
            f"events read, chain up to notification {head_id} {head}"
        )
    return f"OK: {report.events} events, chain intact up to notification {head_id} {head}"


def report_json(report: Report) -> dict[str, Any]:
    """The outcome as JSON: `intact`, counts, head, introductions, checkpoint, findings."""
    claim = report.checkpoint
    return {
        "intact": report.intact,
        "events": report.events,
        "head": None
        if report.head is None
        else {"notification_id": report.head[0], "hash": report.head[1].hex()},
        "incident": report.incident,
        "introduced": [
            {
                "first_notification_id": i.first_notification_id,
                "last_notification_id": i.last_notification_id,
                "introduced_at": i.introduced_at,
            }
            for i in report.introductions
        ],
        "checkpoint": None
        if claim is None
        else {
            "notification_id": claim.notification_id,
            "head_hash": claim.head_hash.hex(),
            "made_at": claim.made_at,
        },
        "findings": [
            {
                "kind": f.kind,
                "notification_id": f.notification_id,
                "originator_id": f.originator_id,
                "version": f.version,
                "stream": f.stream or None,
                "incident": f.incident or None,
                "what": f.what,
            }
            for f in report.findings
        ],
        "findings_outside_incident": report.outside_incident,
    }


@reports_errors
def checkpoint(
    ctx: typer.Context,
    key: Annotated[
        Path, typer.Option(metavar="PRIVATE_KEY_FILE", help="From `lotse audit keys --private`.")
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write to FILE (a new file)."),
    ] = None,
) -> None:
    """Sign the chain's head (after verifying the whole chain) as a checkpoint to keep outside
    the store."""
    try:
        private_key = load_private_key(key)
    except CheckpointError as error:
        raise CliError(str(error)) from None
    if output is not None and output.exists():
        raise CliError(f"{output} exists; a checkpoint is written to a new file")
    with chained_store(invocation_settings(ctx)) as store:
        with store.chain_snapshot() as snapshot:
            report = verify_chain(snapshot)
        location = store.location()
    if not report.intact:
        raise CliError(
            f"the record was changed ({len(report.findings)} findings, see `lotse audit "
            "verify`): no checkpoint is signed over a changed record"
        )
    try:
        signed = signed_checkpoint(private_key, location, report.head, datetime.now(UTC))
    except CheckpointError as error:
        raise CliError(str(error)) from None
    text = json.dumps(signed, indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    with os.fdopen(os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644), "w") as file:
        file.write(text)
    typer.echo(
        f"checkpoint of notification {signed['notification_id']} (head "
        f"{signed['head_hash'][:HEAD_PREFIX]}) written to {output}; keep it outside the store"
    )


@reports_errors
def keys(
    private: Annotated[
        Path, typer.Option(metavar="FILE", help="The private key (signs; mode 0600).")
    ],
    public: Annotated[
        Path, typer.Option(metavar="FILE", help="The public key (for auditors: verifies).")
    ],
) -> None:
    """Make an Ed25519 key pair for signing checkpoints; existing files are never overwritten."""
    try:
        write_key_pair(private, public)
    except CheckpointError as error:
        raise CliError(str(error)) from None
    typer.echo(f"private key: {private} (readable by you only); public key: {public}")
