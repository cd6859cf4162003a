"""The command line refuses what the input rules refuse, in one line, before it contacts Temporal
(the address below is closed: a command that got that far would fail differently)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.support import cli_environment, invoke

OFFICE = ("--staff", "lagedienst-1", "--as", "opferbeauftragte")


def error_line(tmp_path: Path, *args: str) -> str:
    env = cli_environment(tmp_path, LOTSE_TEMPORAL_ADDRESS="127.0.0.1:9")
    result = invoke(env, *args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    [line] = result.stderr.splitlines()
    return line


def test_a_whole_count_passes_the_command_line_and_only_then_meets_the_server(
    tmp_path: Path,
) -> None:
    line = error_line(tmp_path, "incident", "needs", "lage-1", "--need", "legal:dresden:7", *OFFICE)

    assert line.startswith("error: cannot reach Temporal at 127.0.0.1:9")


@pytest.mark.parametrize("count", ["7.5", "sieben", "-3", "7e2"])
def test_a_count_that_is_not_a_whole_number_is_refused(tmp_path: Path, count: str) -> None:
    need = f"legal:dresden:{count}"

    assert error_line(tmp_path, "incident", "needs", "lage-1", "--need", need, *OFFICE) == (
        f"error: --need '{need}': COUNT must be a whole number, e.g. legal:leipzig:12"
    )


def test_a_name_as_staff_reference_is_refused_in_plain_words(tmp_path: Path) -> None:
    line = error_line(
        tmp_path, "incident", "call-off", "lage-1", "--reason", "Übung",
        "--staff", "max.mustermann", "--as", "opferbeauftragte",
    )  # fmt: skip

    assert line.startswith(
        "error: invalid call-off: actor: staff_ref must be a role or staff number such as "
        "lagedienst-1 — never a person's name"
    )
