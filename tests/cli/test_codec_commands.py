"""`lotse codec init|rotate`, and what a command says when the codec keys are missing."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from codec.keys import KeyRing, read_key_file
from tests.cli.support import EXAMPLE_DECLARATION, cli_environment, invoke


def test_init_creates_a_private_key_file_once_and_then_only_reports_it(tmp_path: Path) -> None:
    env = cli_environment(tmp_path)
    path = tmp_path / "codec-keys.json"

    first = invoke(env, "codec", "init")
    ring = read_key_file(path)
    second = invoke(env, "codec", "init")

    assert first.exit_code == 0, first.output
    assert first.stdout == f"{path} created: 1 key(s), current {ring.current}\n"
    assert second.stdout == f"{path} exists: 1 key(s), current {ring.current}\n"
    assert read_key_file(path) == ring
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_rotate_makes_a_new_key_current_and_keeps_the_old_one(tmp_path: Path) -> None:
    env = cli_environment(tmp_path)
    invoke(env, "codec", "init")
    before = read_key_file(tmp_path / "codec-keys.json")

    rotated = invoke(env, "codec", "rotate")
    after = read_key_file(tmp_path / "codec-keys.json")

    assert rotated.exit_code == 0, rotated.output
    assert after.current != before.current
    assert set(after.keys) == {before.current, after.current}
    assert f"current key now {after.current} (2 keys)" in rotated.stdout


def test_rotate_without_a_key_file_says_how_to_make_one(tmp_path: Path) -> None:
    result = invoke(cli_environment(tmp_path), "codec", "rotate")

    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {tmp_path / 'codec-keys.json'}: no codec key file")


def test_the_file_commands_refuse_when_the_keys_come_from_the_variable(tmp_path: Path) -> None:
    env = cli_environment(tmp_path, LOTSE_CODEC_KEYS=KeyRing.fresh().to_json())

    result = invoke(env, "codec", "rotate")

    assert result.exit_code == 1
    assert "LOTSE_CODEC_KEYS is set, so the key file is not used" in result.stderr
    assert not (tmp_path / "codec-keys.json").exists()


async def test_a_command_without_codec_keys_names_the_missing_file_and_sends_nothing(
    tmp_path: Path, temporal_env: WorkflowEnvironment
) -> None:
    address = temporal_env.client.service_client.config.target_host
    env = cli_environment(tmp_path, LOTSE_TEMPORAL_ADDRESS=address)
    result = await asyncio.to_thread(
        invoke, env, "incident", "declare", str(EXAMPLE_DECLARATION), "--id", "ohne-schluessel"
    )

    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {tmp_path / 'codec-keys.json'}: no codec key file — `lotse dev` creates one on "
        "first start; elsewhere run `lotse codec init`, or give the keys in LOTSE_CODEC_KEYS\n"
    )
    listed = [
        w.id async for w in temporal_env.client.list_workflows("WorkflowId='ohne-schluessel'")
    ]
    assert listed == []


def test_a_malformed_key_variable_is_one_error_line_naming_the_field(tmp_path: Path) -> None:
    bad = json.dumps({"current": "k1", "keys": {"k1": "c2hvcnQ="}})
    env = cli_environment(tmp_path, LOTSE_CODEC_KEYS=bad)

    result = invoke(env, "codec", "serve", "--port", "1")  # fails before it would listen

    assert result.exit_code == 1
    assert result.stderr == (
        "error: LOTSE_CODEC_KEYS: keys: Value error, key 'k1' is 5 bytes, not 32\n"
    )
