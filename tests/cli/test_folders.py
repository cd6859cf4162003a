"""The same record from any folder: relative paths resolve against the project or `lotse.toml`,
never the current folder; reading commands never create a store; printed commands work when
pasted in another folder and shell.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
import uuid
from pathlib import Path

import pytest
from typer.testing import Result

from cli.common import lotse_program
from settings import Settings
from tests.cli.support import EXAMPLE_DECLARATION, Lotse, cli_environment, invoke
from tests.workflow.support import REPO_ROOT, Stack, eventually


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder outside the checkout as the current one, with no LOTSE_* variable set."""
    for name in [name for name in os.environ if name.startswith("LOTSE_")]:
        monkeypatch.delenv(name)
    folder = tmp_path / "somewhere" / "else"
    folder.mkdir(parents=True)
    monkeypatch.chdir(folder)
    return folder


def one_error_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_default_paths_point_into_the_checkout_from_any_folder(elsewhere: Path) -> None:
    settings = Settings()

    assert settings.data_dir == REPO_ROOT / "data"
    assert settings.event_store_path == REPO_ROOT / "data" / "events.sqlite"
    assert settings.agreement_file == REPO_ROOT / "agreements" / "saxony.toml"


def test_relative_paths_in_the_environment_resolve_against_the_checkout(
    elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOTSE_DATA_DIR", "data-uebung")
    monkeypatch.setenv("LOTSE_SQLITE_PATH", "data-uebung/record.sqlite")

    settings = Settings()

    assert settings.data_dir == REPO_ROOT / "data-uebung"
    assert settings.event_store_path == REPO_ROOT / "data-uebung" / "record.sqlite"


def test_a_lotse_toml_in_a_parent_folder_is_read_and_its_paths_are_relative_to_it(
    elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = elsewhere.parent / "lotse.toml"
    config.write_text(
        'data_dir = "lage"\nagreement_file = "vereinbarung.toml"\n'
        'temporal_address = "127.0.0.1:7299"\n',
        encoding="utf-8",
    )

    settings = Settings()
    monkeypatch.setenv("LOTSE_TEMPORAL_ADDRESS", "127.0.0.1:7300")
    overridden = Settings()

    assert settings.config_file == config
    assert settings.data_dir == elsewhere.parent / "lage"
    assert settings.agreement_file == elsewhere.parent / "vereinbarung.toml"
    assert settings.temporal_address == "127.0.0.1:7299"
    assert overridden.temporal_address == "127.0.0.1:7300"  # the environment wins


def test_an_unknown_key_in_lotse_toml_is_one_error_line(elsewhere: Path) -> None:
    (elsewhere / "lotse.toml").write_text('datadir = "x"\n', encoding="utf-8")

    result = invoke({}, "incident", "list")

    assert one_error_line(result) == (
        f"error: {elsewhere / 'lotse.toml'}: unknown setting(s) datadir (keys are the names of "
        "the LOTSE_* variables without the prefix, in lower case, e.g. data_dir)"
    )


@pytest.mark.parametrize(
    "command",
    [("incident", "list"), ("history", "some-incident"), ("agreement", "show")],
    ids=["incident list", "history", "agreement show"],
)
def test_a_reading_command_without_a_store_says_where_it_looked_and_creates_nothing(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    missing = tmp_path / "no-such-folder"

    result = invoke(cli_environment(missing), *command)

    assert one_error_line(result) == (
        f"error: no event store at {missing / 'events.sqlite'} — point LOTSE_DATA_DIR (or "
        "LOTSE_SQLITE_PATH) at the folder (file) of the record, or set data_dir in a "
        "lotse.toml in this folder or a parent"
    )
    assert not missing.exists()


async def test_the_commands_declare_prints_work_pasted_in_another_folder_and_shell(
    lotse: Lotse, stack: Stack, tmp_path: Path
) -> None:
    incident_id = f"hint-{uuid.uuid4().hex[:10]}"
    declared = await lotse("incident", "declare", str(EXAMPLE_DECLARATION), "--id", incident_id)
    assert declared.exit_code == 0, declared.output
    stack.handles.append(stack.client.get_workflow_handle(incident_id))
    await eventually(lambda: incident_id in stack.app.incident_keys(), bool, what="the declaration")
    hints = {
        line.split(":", 1)[0].strip(): line.split(":", 1)[1].strip()
        for line in declared.stdout.splitlines()
        if line.startswith(("  status:", "  record:"))
    }
    # Another shell: none of this test's LOTSE_* variables, another current folder.
    shell = {k: v for k, v in os.environ.items() if not k.startswith("LOTSE_")}

    outputs = {}
    for name, hint in hints.items():
        words = shlex.split(hint)
        assignments = [w for w in words if w.startswith("LOTSE_") and "=" in w]
        program_and_args = words[len(assignments) :]
        env = {**shell, **dict(a.split("=", 1) for a in assignments), "COLUMNS": "200"}
        outputs[name] = await asyncio.to_thread(
            subprocess.run,
            program_and_args,
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert set(hints) == {"status", "record"}
    assert "LOTSE_TEMPORAL_ADDRESS=" in hints["status"]
    assert f"LOTSE_DATA_DIR={stack.settings.data_dir}" in hints["record"]
    assert f"LOTSE_DATA_DIR={stack.settings.data_dir}" in hints["status"]  # the codec keys
    program = next(w for w in shlex.split(hints["status"]) if not w.startswith("LOTSE_"))
    assert program == lotse_program()
    assert program == "lotse" or Path(program).is_absolute()
    for name, done in outputs.items():
        assert done.returncode == 0, (name, done.stderr)
        assert incident_id in done.stdout
    assert "Declared" in outputs["record"].stdout
