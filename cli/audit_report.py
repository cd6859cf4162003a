"""`lotse audit report INCIDENT --format md|html|json [--lang de|en]`: the reflection report.

Reads the event store (like `lotse history`), so it works while Temporal is down; writes only the
read itself, recorded with the auditor (`--as`, `--staff`) before the report is built, so the
report's section of audit reads ends with its own. The report
goes to stdout, to be redirected into a file or piped on; a progress bar shows on the terminal's
stderr only while the record is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli.audit_reads import AuditorOpt, AuditStaffOpt, auditor, record_read
from cli.common import invocation_settings, open_application, reports_errors
from contracts.accountability import AuditCommand, AuditReadRequest
from domain.reflection import read_record, reflection_figures
from reports.labels import Language, ReportFormat
from reports.render import render

STEPS = ("incident", "history", "people", "roll", "report")


@reports_errors
def report(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(metavar="INCIDENT", help="The incident id.")],
    partner: AuditorOpt,
    staff: AuditStaffOpt,
    chosen_format: Annotated[
        ReportFormat,
        typer.Option("--format", help="md for minutes, html with charts, json for machines."),
    ] = ReportFormat.MD,
    language: Annotated[
        Language, typer.Option("--lang", help="The report's language (JSON is the same in both).")
    ] = Language.DE,
) -> None:
    """The reflection report of an incident: KPIs, timeline, findings and measures, refusals
    and audit reads."""
    reader = auditor(partner, staff)
    with open_application(invocation_settings(ctx), reading=True) as store, _steps() as step:
        store.incident(incident_id)  # an unknown incident: nothing read, nothing recorded
        read = AuditReadRequest(
            command=AuditCommand.REPORT,
            incident_key=incident_id,
            options={"--lang": str(language)},
            output_format=str(chosen_format),
        )
        # Recorded before the report is built: the report lists its own read last.
        record_read(store, reader, read)
        record = read_record(store, incident_id, step)
        step("report")
        text = render(reflection_figures(record, datetime.now(UTC)), chosen_format, language)
    typer.echo(text, nl=False)


@contextmanager
def _steps() -> Iterator[Callable[[str], None]]:
    """A bar over the reading steps, on the terminal's stderr only (see `lotse cases import`)."""
    err = Console(stderr=True)
    bar = Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    with bar:
        task = bar.add_task("", total=len(STEPS))

        def step(name: str) -> None:
            bar.update(task, description=name, completed=STEPS.index(name))

        yield step
        bar.update(task, completed=len(STEPS))
