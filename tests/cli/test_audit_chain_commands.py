"""`lotse audit verify | checkpoint | keys` on a real store, written by the application and
changed with plain SQL. These commands read the store only: no Temporal server runs here.

The record: the twelve events of tests/integration/test_event_chain.py (the agreement, an
incident, two people, two needs reports).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from contracts.agreement import AgreementTerms
from domain.application import LotseApplication
from settings import Settings
from tests.cli.support import Lotse, cli_environment, declare, invoke
from tests.integration.test_event_chain import (
    EVENTS,
    INCIDENT_STREAM,
    Raw,
    write_record,
)
from tests.integration.test_event_store import INCIDENT
from tests.workflow.support import Stack

AUDITOR = ("--as", "opferbeauftragte", "--staff", "pruefung-1")
"""Who verifies: every audit read is recorded, `lotse audit verify` included."""

LOTSE = Path(sys.executable).parent / "lotse"


def store_environment(settings: Settings, folder: Path) -> dict[str, str | None]:
    """`LOTSE_*` for the commands: the store of `settings` (SQLite or PostgreSQL)."""
    env = cli_environment(settings.data_dir if settings.store == "sqlite" else folder)
    if settings.store == "postgres":
        env |= {
            "LOTSE_STORE": "postgres",
            "LOTSE_POSTGRES_HOST": settings.postgres_host,
            "LOTSE_POSTGRES_PORT": str(settings.postgres_port),
            "LOTSE_POSTGRES_USER": settings.postgres_user,
            "LOTSE_POSTGRES_DBNAME": settings.postgres_dbname,
            "LOTSE_POSTGRES_SCHEMA": settings.postgres_schema,
        }
    return env


@pytest.fixture
def written(store_settings: Settings, agreement_terms: AgreementTerms) -> Raw:
    app = LotseApplication(env=store_settings.event_store_env())
    try:
        write_record(app, agreement_terms)
    finally:
        app.close()
    return Raw(store_settings)


@pytest.fixture
def env(written: Raw, tmp_path: Path) -> dict[str, str | None]:
    return store_environment(written.settings, tmp_path)


def alter_needs_report(record: Raw) -> None:
    """The red team's edit: the count of the first needs report (notification 11) to 99999."""
    state = bytes(record.event(11)[3]).replace(b'"count":10', b'"count":99999')
    record.run("UPDATE {events} SET state = ? WHERE {nid} = ?", state, 11)


def head_hash(record: Raw, notification_id: int = EVENTS + 1) -> str:
    """The chain's hash at `notification_id`: by default the head once verify recorded its
    read (the event after the `EVENTS` written)."""
    return bytes(
        record.run("SELECT hash FROM {chain} WHERE notification_id = ?", notification_id)[0][0]
    ).hex()


def test_an_intact_record_is_ok_with_its_head(written: Raw, env: dict[str, str | None]) -> None:
    result = invoke(env, "audit", "verify", *AUDITOR)

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"OK: {EVENTS + 1} events, chain intact up to notification {EVENTS + 1} "
        f"(head {head_hash(written)[:16]})\n"  # the events written, and verify's own read
    )
    assert result.stderr == ""


def test_a_changed_record_names_the_event_and_exits_1(
    written: Raw, env: dict[str, str | None]
) -> None:
    alter_needs_report(written)

    result = invoke(env, "audit", "verify", *AUDITOR)

    assert result.exit_code == 1
    assert result.stdout == (
        f"altered: incident {INCIDENT} (stream {INCIDENT_STREAM}), version 2, notification 11: "
        "its stored bytes differ from those chained\n"
    )
    assert result.stderr == "error: the record was changed: 1 finding\n"


def test_json_gives_every_finding_with_its_place(written: Raw, env: dict[str, str | None]) -> None:
    alter_needs_report(written)
    written.run("DELETE FROM {events} WHERE {nid} = ?", 9)

    result = invoke(env, "audit", "verify", *AUDITOR, "--json")

    assert result.exit_code == 1
    outcome = json.loads(result.stdout)
    assert outcome["intact"] is False
    assert outcome["events"] == EVENTS  # one deleted, verify's own read added
    assert outcome["head"] == {"notification_id": EVENTS + 1, "hash": head_hash(written)}
    assert [(f["kind"], f["notification_id"], f["version"]) for f in outcome["findings"]] == [
        ("deleted", 9, 1),
        ("altered", 11, 2),
    ]
    assert outcome["findings"][1]["incident"] == INCIDENT


@pytest.mark.parametrize("columns", [60, 80])
def test_a_narrow_terminal_shows_each_stream_id_whole(
    written: Raw, env: dict[str, str | None], columns: int
) -> None:
    alter_needs_report(written)
    terminal = {"COLUMNS": str(columns), "TTY_COMPATIBLE": "1", "NO_COLOR": "1"}

    result = invoke({**env, **terminal}, "audit", "verify", *AUDITOR)

    assert result.exit_code == 1
    assert "…" not in result.stdout
    assert all(len(line) <= columns for line in result.stdout.splitlines()), result.stdout
    assert any(INCIDENT_STREAM in line for line in result.stdout.splitlines())
    assert "notification 11" in " ".join(result.stdout.split())


def test_findings_of_an_incident_leave_out_other_streams(
    written: Raw, env: dict[str, str | None]
) -> None:
    written.run("DELETE FROM {events} WHERE {nid} = ?", 3)  # a line of the agreement

    mine = invoke(env, "audit", "verify", *AUDITOR, INCIDENT)
    unknown = invoke(env, "audit", "verify", *AUDITOR, "nowhere-2026")

    assert mine.exit_code == 0, mine.output
    assert mine.stdout.startswith(f"OK: no finding in the streams of incident {INCIDENT}; ")
    assert "note: 1 finding(s) in streams of other incidents or of none" in mine.stdout
    assert unknown.exit_code == 1
    assert unknown.stderr == "error: incident 'nowhere-2026' is not in the record\n"


def test_a_signed_checkpoint_catches_a_cut_off_tail(
    written: Raw, env: dict[str, str | None], tmp_path: Path
) -> None:
    private, public, saved = tmp_path / "audit.key", tmp_path / "audit.pub", tmp_path / "cp.json"
    assert (
        invoke(env, "audit", "keys", "--private", str(private), "--public", str(public)).exit_code
        == 0
    )
    made = invoke(env, "audit", "checkpoint", "--key", str(private), "--output", str(saved))
    assert made.exit_code == 0, made.output
    with_checkpoint = ["--checkpoint", str(saved), "--public-key", str(public)]
    intact = invoke(env, "audit", "verify", *AUDITOR, *with_checkpoint)
    written.run("DELETE FROM {events} WHERE {nid} > ?", 10)
    written.run("DELETE FROM {chain} WHERE notification_id > ?", 10)

    without = invoke(env, "audit", "verify", *AUDITOR)
    cut = invoke(env, "audit", "verify", *AUDITOR, *with_checkpoint)

    assert intact.exit_code == 0, intact.output
    assert "matches" in intact.stdout
    assert without.exit_code == 0  # the chain alone cannot tell
    assert cut.exit_code == 1
    # Each verify records its read first, so by now reads stand where the cut-off events were:
    # the chain at the checkpoint's notification is not the one it signed.
    [finding] = [line for line in cut.stdout.splitlines() if line.startswith("cut off")]
    assert finding.startswith(f"cut off: notification {EVENTS}: the chain at notification ")
    assert "is not the one the checkpoint of " in finding


def test_an_edited_checkpoint_is_refused(
    written: Raw, env: dict[str, str | None], tmp_path: Path
) -> None:
    private, public = tmp_path / "audit.key", tmp_path / "audit.pub"
    invoke(env, "audit", "keys", "--private", str(private), "--public", str(public))
    made = invoke(env, "audit", "checkpoint", "--key", str(private))
    checkpoint = json.loads(made.stdout)
    checkpoint["notification_id"] = EVENTS - 2
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(checkpoint))

    result = invoke(
        env, "audit", "verify", *AUDITOR, "--checkpoint", str(edited), "--public-key", str(public)
    )

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"error: checkpoint {edited}: its signature does not verify with the public key given: "
        "it was made with another key, or edited since — the checkpoint is refused\n"
    )


def test_keys_are_never_overwritten_and_the_private_key_is_the_owners(
    written: Raw, env: dict[str, str | None], tmp_path: Path
) -> None:
    private, public = tmp_path / "audit.key", tmp_path / "audit.pub"
    first = invoke(env, "audit", "keys", "--private", str(private), "--public", str(public))
    kept = private.read_bytes()

    again = invoke(env, "audit", "keys", "--private", str(private), "--public", str(tmp_path / "x"))

    assert first.exit_code == 0, first.output
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert again.exit_code == 1
    assert again.stderr == f"error: {private} exists; a key is never overwritten\n"
    assert private.read_bytes() == kept
    assert not (tmp_path / "x").exists()


def test_a_checkpoint_is_not_signed_over_a_changed_record(
    written: Raw, env: dict[str, str | None], tmp_path: Path
) -> None:
    private, public = tmp_path / "audit.key", tmp_path / "audit.pub"
    invoke(env, "audit", "keys", "--private", str(private), "--public", str(public))
    alter_needs_report(written)

    result = invoke(env, "audit", "checkpoint", "--key", str(private), "-o", str(tmp_path / "c"))

    assert result.exit_code == 1
    assert "no checkpoint is signed over a changed record" in result.stderr
    assert not (tmp_path / "c").exists()


def test_a_checkpoint_needs_its_public_key(written: Raw, env: dict[str, str | None]) -> None:
    result = invoke(env, "audit", "verify", *AUDITOR, "--checkpoint", "cp.json")

    assert result.exit_code == 2
    assert "--checkpoint and --public-key go together" in result.stderr


@pytest.mark.parametrize("store_settings", ["sqlite"], indirect=True)
def test_the_lotse_program_says_it_on_stderr_and_exits_1(
    written: Raw, env: dict[str, str | None]
) -> None:
    alter_needs_report(written)
    process_env = {k: v for k, v in {**os.environ, **env}.items() if v is not None}

    result = subprocess.run(
        [LOTSE, "audit", "verify", *AUDITOR],
        env=process_env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 1
    assert result.stderr == "error: the record was changed: 1 finding\n"
    assert result.stdout.startswith("altered: incident ")


async def test_a_record_written_by_the_worker_verifies(lotse: Lotse, stack: Stack) -> None:
    """The worker records alerts from parallel activities: its chain must be intact, and the
    command needs no Temporal (it reads the store the stack writes)."""
    await declare(lotse, stack, "uebung-2026-12-05-chain")
    written = stack.app.recorder.max_notification_id() or 0
    assert written >= 5  # the declaration and four alerts at least

    result = await lotse("audit", "verify", *AUDITOR, "uebung-2026-12-05-chain")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "OK: no finding in the streams of incident uebung-2026-12-05-chain; "
    )
    reached = int(result.stdout.split("chain up to notification ")[1].split()[0])
    assert reached >= written  # the worker may record a further step between the two reads
