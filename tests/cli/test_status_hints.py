"""The command an operator is told to run when an update was sent but not answered, or a
workflow did not answer in time, exists: `lotse incident status ID`, `lotse case status ID`,
and for a meeting's run (which has no status command) `lotse exchange list`."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.updates import status_of
from tests.cli.support import cli_environment, invoke

WORKFLOW_ID = "some-workflow"


@pytest.mark.parametrize("noun", ["incident", "case", "exchange"])
def test_the_status_command_an_unanswered_update_points_to_exists(
    noun: str, tmp_path: Path
) -> None:
    program, *words = status_of(noun, WORKFLOW_ID).split()
    assert program == "lotse"
    command = [word for word in words if word != WORKFLOW_ID]

    result = invoke(cli_environment(tmp_path), *command, "--help")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Usage: lotse " + " ".join(command) + " ")
