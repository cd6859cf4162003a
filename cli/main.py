"""`lotse`: the command line, a thin face over the builders of `worker.py` (DESIGN.md §4).

    lotse dev                          the local stack (what `make run` calls)
    lotse agreement load|show          the cooperation agreement in the record
    lotse incident declare|ack|status|needs|assign|close-acute|reflect|call-off|list
    lotse history INCIDENT             every recorded step of an incident

Every command reads `Settings()` (environment variables `LOTSE_*`). A foreseeable failure prints
one `error: …` line on stderr and exits with code 1.
"""

from __future__ import annotations

import typer

from cli import agreement, dev, history, incident

app = typer.Typer(
    name="lotse",
    help="Lotse: coordinates victim support after a mass-casualty attack in Saxony.",
    no_args_is_help=True,
    add_completion=False,
    # Settings hold passwords: never print local variables with a traceback.
    pretty_exceptions_show_locals=False,
)
app.command("dev")(dev.dev)
app.command("history")(history.history)
app.add_typer(agreement.app, name="agreement", no_args_is_help=True)
app.add_typer(incident.app, name="incident", no_args_is_help=True)


def main() -> None:
    """Entry point of the `lotse` script."""
    app()
