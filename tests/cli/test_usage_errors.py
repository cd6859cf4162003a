"""A command line that does not parse is one `error: …` line and exit code 2; help shows no type
noise. Checked through `cli.main.run`, what the `lotse` script runs, and once as a process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer

from cli.common import BROKEN_PIPE, reports_errors
from cli.main import run

LOTSE = Path(sys.executable).parent / "lotse"

COMMANDS = [
    ("dev",),
    ("history",),
    ("audit", "report"),
    ("agreement", "load"),
    ("agreement", "show"),
    *(
        ("incident", name)
        for name in (
            "declare", "status", "list", "ack", "needs", "assign", "close-acute", "reflect",
            "call-off",
        )
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["incident", "ack", "x", "--partner", "weisser-ring", "--staff", "s-1",
             "--channel", "telefon"],
            "error: Invalid value for '--channel': Value error, 'telefon' is not one of 'cli', "
            "'phone'. — see `lotse incident ack --help`",
        ),
        (
            ["incident", "needs", "x", "--need", "legal:dresden:1", "--as", "opferbeauftragte"],
            "error: Missing option '--staff'. — see `lotse incident needs --help`",
        ),
        (
            ["incident", "status", "x", "--json", "true"],
            "error: Got unexpected extra argument(s) (true) — see `lotse incident status --help`",
        ),
        (
            ["incident", "ack", "x", "--partner", "p", "--staff", "s", "--timeout", "soon"],
            "error: Invalid value for '--timeout': Input should be a valid number, unable to "
            "parse string as a number — see `lotse incident ack --help`",
        ),
        (
            ["incidents"],
            "error: No such command 'incidents'. Did you mean 'incident'? — see `lotse --help`",
        ),
    ],
    ids=["unknown channel", "missing --staff", "--json true", "timeout not a number", "typo"],
)  # fmt: skip
def test_a_command_line_that_does_not_parse_is_one_error_line_and_exit_code_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(args)

    printed = capsys.readouterr()
    assert code == 2
    assert printed.out == ""
    assert printed.err == message + "\n"


def test_the_lotse_script_prints_a_usage_error_as_one_line_and_exits_2() -> None:
    done = subprocess.run(
        [str(LOTSE), "incident", "ack", "x", "--partner", "p", "--channel", "telefon"],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("error: Invalid value for '--channel'")


def test_a_command_failure_keeps_exit_code_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOTSE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LOTSE_SQLITE_PATH", raising=False)

    code = run(["incident", "list"])

    assert code == 1
    assert capsys.readouterr().err.startswith("error: no event store at ")


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_shows_no_type_noise(
    command: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    code = run([*command, "--help"])

    shown = capsys.readouterr().out
    assert code == 0
    assert "Usage: lotse " in shown
    for noise in ("<bool>", "<list", "<float>", "<int>", "╭"):
        assert noise not in shown, shown


def test_a_reader_that_leaves_the_pipe_ends_the_command_quietly_with_the_sigpipe_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    @reports_errors
    def writes_into_a_closed_pipe() -> None:
        raise BrokenPipeError(32, "Broken pipe")  # what `lotse history X | head -1` meets

    with pytest.raises(typer.Exit) as leaving:
        writes_into_a_closed_pipe()

    assert leaving.value.exit_code == BROKEN_PIPE == 141
    assert capsys.readouterr().err == ""  # not "error: Broken pipe"
