"""Each `lotse` invocation reads its settings once and hands that one object to every step it
takes; a bad setting is one error line naming its variable; help never reads the settings.

The invocation's object is given here in place of the environment's (`invoke(…, settings=…)`),
with an environment that points elsewhere: a step that read the settings again would go there.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment
from typer.testing import Result

from settings import Settings
from tests.cli.support import EXAMPLE_DECLARATION, Lotse, cli_environment, declare, invoke
from tests.workflow.support import Stack, free_port

ACTOR = ("--staff", "lagedienst-1", "--as", "opferbeauftragte")
READING = {
    "incident list": ("incident", "list"),
    "history": ("history", "lage-1"),
    "agreement show": ("agreement", "show"),
}
ASKING_TEMPORAL = {
    "incident declare": ("incident", "declare", str(EXAMPLE_DECLARATION), "--id", "lage-1"),
    "incident status": ("incident", "status", "lage-1"),
    "incident ack": ("incident", "ack", "lage-1", "--partner", "weisser-ring", "--staff", "wr-1"),
    "incident needs": ("incident", "needs", "lage-1", "--need", "legal:dresden:2", *ACTOR),
    "incident assign": (
        "incident", "assign", "lage-1", "--category", "legal", "--partner", "weisser-ring", *ACTOR,
    ),
    "incident close-acute": ("incident", "close-acute", "lage-1", *ACTOR),
    "incident reflect": ("incident", "reflect", "lage-1", "--finding", "Lief gut.", *ACTOR),
    "incident call-off": ("incident", "call-off", "lage-1", "--reason", "Übung", *ACTOR),
}  # fmt: skip


def one_error_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("args", [*READING.values(), *ASKING_TEMPORAL.values()], ids=[
    *READING, *ASKING_TEMPORAL
])  # fmt: skip
def test_a_bad_setting_is_one_error_line_naming_its_variable(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    env = cli_environment(tmp_path, LOTSE_SMTP_PORT="fünfundzwanzig")

    assert one_error_line(invoke(env, *args)) == (
        "error: invalid setting: LOTSE_SMTP_PORT: Input should be a valid integer, unable to "
        "parse string as an integer"
    )


def test_a_bad_setting_in_lotse_toml_names_the_file_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "lotse.toml"
    config.write_text('smtp_port = "fünfundzwanzig"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    assert one_error_line(invoke(cli_environment(tmp_path), "incident", "list")) == (
        f"error: invalid setting: LOTSE_SMTP_PORT (or smtp_port in {config}): Input should be "
        "a valid integer, unable to parse string as an integer"
    )


def test_a_rule_between_two_settings_is_one_error_line_naming_both(tmp_path: Path) -> None:
    env = cli_environment(
        tmp_path,
        LOTSE_DELIVERY_INITIAL_INTERVAL_SECONDS="30",
        LOTSE_DELIVERY_MAXIMUM_INTERVAL_SECONDS="5",
    )

    assert one_error_line(invoke(env, "incident", "list")) == (
        "error: invalid setting: LOTSE_DELIVERY_MAXIMUM_INTERVAL_SECONDS must not be below "
        "LOTSE_DELIVERY_INITIAL_INTERVAL_SECONDS"
    )


def test_help_does_not_read_the_settings(tmp_path: Path) -> None:
    env = cli_environment(tmp_path, LOTSE_SMTP_PORT="fünfundzwanzig")

    result = invoke(env, "incident", "list", "--help")

    assert result.exit_code == 0, result.output
    assert "Usage: lotse incident list" in result.stdout


@pytest.mark.parametrize("args", READING.values(), ids=READING)
def test_a_reading_command_uses_the_store_of_its_invocations_settings(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    given = Settings(data_dir=tmp_path / "given", sqlite_path=None)

    line = one_error_line(invoke(cli_environment(tmp_path / "environment"), *args, settings=given))

    assert line.startswith(f"error: no event store at {tmp_path / 'given' / 'events.sqlite'} ")


@pytest.mark.parametrize("args", ASKING_TEMPORAL.values(), ids=ASKING_TEMPORAL)
def test_a_command_asks_the_temporal_of_its_invocations_settings(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    # Both addresses are closed ports: whichever a command asks, it fails at once.
    given = Settings(temporal_address=f"127.0.0.1:{free_port()}", data_dir=tmp_path)
    env = cli_environment(tmp_path, LOTSE_TEMPORAL_ADDRESS="127.0.0.1:9")

    line = one_error_line(invoke(env, *args, settings=given))

    assert line.startswith(f"error: cannot reach Temporal at {given.temporal_address} "), line


def test_agreement_load_writes_to_the_store_of_its_invocations_settings(tmp_path: Path) -> None:
    given = Settings(data_dir=tmp_path / "given", sqlite_path=None)

    result = invoke(cli_environment(tmp_path / "environment"), "agreement", "load", settings=given)

    assert result.exit_code == 0, result.output
    assert (tmp_path / "given" / "events.sqlite").is_file()
    assert not (tmp_path / "environment").exists()


def test_dev_checks_the_ports_of_its_invocations_settings(tmp_path: Path) -> None:
    # Both describe a stack that cannot start (two parts on one port): nothing is started.
    given = Settings(data_dir=tmp_path, dev_temporal_port=free_port(), dev_smtp_port=free_port())
    given = given.model_copy(update={"dev_ui_port": given.dev_temporal_port})
    env = cli_environment(
        tmp_path,
        LOTSE_DEV_TEMPORAL_PORT="7999",
        LOTSE_DEV_UI_PORT="7999",
        LOTSE_DEV_SMTP_PORT="7998",
    )

    line = one_error_line(invoke(env, "dev", settings=given))

    assert line == (
        f"error: Temporal UI and Temporal are both set to port {given.dev_temporal_port}; "
        "set LOTSE_DEV_UI_PORT"
    )


async def test_an_update_and_the_repeat_command_it_prints_use_one_settings_object(
    lotse: Lotse, stack: Stack, temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    incident_id = f"settings-{uuid.uuid4().hex[:10]}"
    await declare(lotse, stack, incident_id)
    address = temporal_env.client.service_client.config.target_host
    given = stack.settings.model_copy(update={"temporal_address": address})
    # Read again, this environment would give the default address: no hint to reach this stack.
    env = {**cli_environment(stack.settings.data_dir), "LOTSE_TEMPORAL_ADDRESS": None}

    result = await asyncio.to_thread(
        invoke, env, "incident", "needs", incident_id, "--need", "legal:dresden:2", *ACTOR,
        settings=given,
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    [announced] = [line for line in result.stderr.splitlines() if line.startswith("update id ")]
    assert f"to repeat safely: LOTSE_TEMPORAL_ADDRESS={address} " in announced
