"""`lotse`: the command line, a thin face over the builders of `bootstrap.py`.

    lotse dev                          the local stack (what `make run` calls)
    lotse agreement load|show          the cooperation agreement in the record
    lotse offers load|show             the directory of support offers; matching a need
    lotse incident declare|ack|status|needs|assign|close-acute|reflect|call-off|list
    lotse history INCIDENT             every recorded step of an incident
    lotse person register|contact|show an affected person: registration and contact data
    lotse case status|consent|withdraw|needs|ack|accept|decline|contact|follow-up|refer|close
    lotse cases import FILE            register everyone on a list (police, Red Cross, hotline)
    lotse cases duplicates INCIDENT    people likely on two lists: confirm or reject
    lotse cases overdue INCIDENT       what is late across an incident's cases, oldest first
    lotse privacy erase|export         erase a person (crypto-shredding); export their data
    lotse codec init|rotate|serve      the keys that encrypt Temporal's payloads; the codec server
    lotse audit verify|checkpoint|keys  is the record intact (hash chain); signed checkpoints
    lotse audit replay|timeline|report  the record then; every step in order; the report
    lotse audit reads                  who read the record (each audit read is recorded)
    lotse exchange schedule|list|minutes  the regular exchange: its Schedule, meetings, minutes
    lotse measures list|assign|done    measures from meetings and reflections, until done
    lotse drill test-alert|ack|status  the test alert: does every contact point answer?

Each invocation reads one `Settings` (environment variables `LOTSE_*`, or a `lotse.toml` found
in the current folder or a parent) when its command first needs it, keeps it on the root
context and passes it down (`cli.common.invocation_settings`). A foreseeable failure (a bad
setting included) prints one `error: …` line on stderr and exits with code 1; a command line
that does not parse prints one `error: …` line and exits 2.
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Sequence

import typer
from typer._click.exceptions import NoArgsIsHelpError  # typer exports no public name for it

from cli import (
    agreement,
    audit,
    case,
    cases,
    codec,
    dev,
    drill,
    exchange,
    history,
    incident,
    measures,
    offers,
    person,
    privacy,
)

app = typer.Typer(
    name="lotse",
    help="Lotse: coordinates victim support after a mass-casualty attack in Saxony.",
    no_args_is_help=True,
    add_completion=False,
    # Plain help text: it reads the same in a pipe and on a narrow terminal, and shows no
    # `<bool>` type noise beside the flags.
    rich_markup_mode=None,
    # Settings hold passwords: never print local variables with a traceback.
    pretty_exceptions_show_locals=False,
)
app.command("dev")(dev.dev)
app.command("history")(history.history)
app.add_typer(agreement.app, name="agreement", no_args_is_help=True)
app.add_typer(incident.app, name="incident", no_args_is_help=True)
app.add_typer(person.app, name="person", no_args_is_help=True)
app.add_typer(case.app, name="case", no_args_is_help=True)
app.add_typer(cases.app, name="cases", no_args_is_help=True)
app.add_typer(privacy.app, name="privacy", no_args_is_help=True)
app.add_typer(offers.app, name="offers", no_args_is_help=True)
app.add_typer(codec.app, name="codec", no_args_is_help=True)
app.add_typer(audit.app, name="audit", no_args_is_help=True)
app.add_typer(exchange.app, name="exchange", no_args_is_help=True)
app.add_typer(measures.app, name="measures", no_args_is_help=True)
app.add_typer(drill.app, name="drill", no_args_is_help=True)

USAGE_ERROR = 2
INTERRUPTED_CODE = 130  # 128 + SIGINT, what a shell reports for Ctrl-C
INTERRUPTED = (
    "error: interrupted — what was done is recorded; repeating the command is safe (an update "
    "with the --update-id it printed; an import registers nobody twice and finishes the rest)"
)


def run(argv: Sequence[str]) -> int:
    """Run `lotse ARGV`; return the exit code. A command line that does not parse is one
    `error: …` line on stderr and code 2 (not click's multi-line box)."""
    command = typer.main.get_command(app)
    try:
        result = command.main(args=list(argv), prog_name="lotse", standalone_mode=False)
    except NoArgsIsHelpError as error:
        typer.echo(error.format_message(), err=True)
        return USAGE_ERROR
    except typer.TyperException as error:
        context = getattr(error, "ctx", None)
        where = f" — see `{context.command_path} --help`" if context is not None else ""
        message = " ".join(error.format_message().split())
        typer.echo(f"error: {message}{where}", err=True)
        return error.exit_code
    except typer.Abort:
        typer.echo("error: aborted", err=True)
        return 1
    if result == INTERRUPTED_CODE:
        # Typer turns Ctrl-C inside a command into this exit code, silently.
        typer.echo(INTERRUPTED, err=True)
    return result if isinstance(result, int) else 0


def main() -> None:
    """Entry point of the `lotse` script.

    It leaves with `os._exit` once the command is done: letting the interpreter finalise
    while the Temporal client's Rust threads still run aborts the process now and then
    (`Fatal Python error: PyGILState_Release`, exit 134, temporalio/sdk-python#300) — after
    the command has succeeded, which invites the operator to repeat it. Everything the
    command wrote is flushed first; nothing else is left to clean up (stores are closed by
    the commands themselves).
    """
    try:
        code = run(sys.argv[1:])
    except SystemExit as leaving:
        code = leaving.code if isinstance(leaving.code, int) else (0 if leaving.code is None else 1)
        if isinstance(leaving.code, str):
            print(leaving.code, file=sys.stderr)
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        code = INTERRUPTED_CODE
    except BaseException:
        traceback.print_exc()
        code = 1
    for stream in (sys.stdout, sys.stderr):
        # A closed pipe (`lotse history X | head`): nothing more can be delivered.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
