"""`lotse drill …` on the real dev server: a test alert started, answered, refused with one
`error:` line for an unknown point, an answer after the end and a key in use; its status read
from the record with Temporal down."""

from __future__ import annotations

import re

import pytest

from tests.cli.support import Lotse
from tests.workflow.support import Stack, eventually

KEY = "test-20261130-0900"


@pytest.fixture(autouse=True)
def short_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """Set before the stack's worker reads its settings: six seconds for every answer."""
    monkeypatch.setenv("LOTSE_DRILL_WAIT_MINUTES", "0.1")


async def test_a_test_alert_is_started_answered_and_shown_from_the_record(
    lotse: Lotse, stack: Stack
) -> None:
    started = await lotse("drill", "test-alert", "--id", KEY)
    assert started.exit_code == 0, started.output
    first = started.stdout.splitlines()[0]
    assert first == (
        f"drill {KEY} started: a test message to every contact point of "
        "kooperation-opferhilfe-sachsen"
    )
    assert f"drill status {KEY}" in started.stdout.splitlines()[1]
    again = await lotse("drill", "test-alert", "--id", KEY)
    assert (again.exit_code, again.stderr) == (
        1,
        f"error: drill id '{KEY}' is already in use; choose another --id\n",
    )
    await eventually(lambda: len(stack.mails()), lambda n: n == 8, what="the eight test messages")
    answered = await lotse(
        "drill", "ack", f"drill-{KEY}", "--point", "weisser-ring/deputy",
        "--as", "opferbeauftragte", "--staff", "lagedienst-1", "--channel", "phone",
    )  # fmt: skip
    assert answered.exit_code == 0, answered.output
    assert answered.stdout.startswith(f"drill {KEY}: weisser-ring/deputy answered after ")
    unknown = await lotse(
        "drill", "ack", KEY, "--point", "nobody/primary", "--as", "weisser-ring", "--staff", "x-1"
    )
    assert unknown.exit_code == 1
    assert unknown.stderr.startswith(
        f"error: 'nobody/primary' is not a contact point of drill '{KEY}' (opferbeauftragte/"
    )
    await eventually(lambda: stack.app.drill(KEY).finished, bool, what="the end of the drill")
    late = await lotse(
        "drill", "ack", KEY, "--point", "raa-sachsen/primary", "--as", "raa-sachsen",
        "--staff", "support-1",
    )  # fmt: skip
    assert (late.exit_code, late.stderr) == (
        1,
        f"error: drill '{KEY}' has ended; an answer now is too late to count\n",
    )

    shown = await lotse("drill", "status", KEY, env_extra={"LOTSE_TEMPORAL_ADDRESS": "127.0.0.1:1"})
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0].endswith("(Europe/Berlin), ended; 1 of 8 answered")
    rows = [dict(pair.split(": ", 1) for pair in line.split("  ·  ")) for line in lines[1:]]
    by_point = {row["contact point"]: row for row in rows}
    assert len(by_point) == 8
    answered_row = by_point.pop("weisser-ring/deputy")
    assert re.fullmatch(r"\d+s", answered_row["answered after"])  # seconds, within the wait
    assert answered_row | {"answered after": "?"} == {
        "contact point": "weisser-ring/deputy",
        "message": "delivered",
        "answered after": "?",
        "by": "opferbeauftragte/lagedienst-1",
        "state": "answered",
    }
    assert {row["state"] for row in by_point.values()} == {"NOT ANSWERING"}
    assert {row["answered after"] for row in by_point.values()} == {"—"}
