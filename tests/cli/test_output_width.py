"""No reading command cuts an incident id, a partner id, an actor, a staff reference or an event
name: not on a narrow terminal, not on a wide one, not when stdout is a file.

A terminal is what rich takes for one: `TTY_COMPATIBLE=1` (its documented switch), at the
width of `COLUMNS`; without it, stdout is the test runner's buffer, as with `> file`.
"""

from __future__ import annotations

import uuid

import pytest

from tests.cli.support import EXAMPLE_DECLARATION, Lotse
from tests.workflow.support import PARTNERS, Stack, eventually

WIDTHS = [60, 80, 120, 200]


def terminal(columns: int) -> dict[str, str]:
    return {"COLUMNS": str(columns), "TTY_COMPATIBLE": "1", "NO_COLOR": "1"}


def not_a_terminal() -> dict[str, str]:
    return {"COLUMNS": "80"}  # what a shell passes on when stdout goes to a file


OUTPUTS = [(f"terminal of {w} columns", terminal(w)) for w in WIDTHS] + [("file", not_a_terminal())]


def whole_on_one_line(output: str, word: str) -> bool:
    return any(word in line for line in output.splitlines())


@pytest.fixture
async def incident(lotse: Lotse, stack: Stack) -> str:
    """An incident with a long id, an acknowledgement taken by phone and reported needs."""
    incident_id = f"uebung-20261205-1740-dresden-altmarkt-{uuid.uuid4().hex[:12]}"
    declared = await lotse("incident", "declare", str(EXAMPLE_DECLARATION), "--id", incident_id)
    assert declared.exit_code == 0, declared.output
    stack.handles.append(stack.client.get_workflow_handle(incident_id))
    await eventually(
        lambda: incident_id in stack.app.incident_keys() and len(stack.history(incident_id)),
        lambda count: count >= 5,
        what="the declaration and four alerts",
    )
    ack = await lotse(
        "incident", "ack", incident_id, "--partner", "opferhilfe-sachsen",
        "--staff", "rufbereitschaft-nacht-2", "--as", "opferbeauftragte", "--channel", "phone",
    )  # fmt: skip
    needs = await lotse(
        "incident", "needs", incident_id, "--need", "psychosocial:dresden:40",
        "--staff", "lagedienst-1", "--as", "opferbeauftragte",
    )  # fmt: skip
    assert ack.exit_code == 0, ack.output
    assert needs.exit_code == 0, needs.output
    return incident_id


async def test_history_shows_every_id_actor_and_event_whole(lotse: Lotse, incident: str) -> None:
    for where, env in OUTPUTS:
        result = await lotse("history", incident, env_extra=env)

        assert result.exit_code == 0, (where, result.output)
        assert "…" not in result.stdout, (where, result.stdout)
        for word in [
            incident,
            *PARTNERS,
            "opferbeauftragte/lagedienst-1",
            "opferbeauftragte/rufbereitschaft-nacht-2",
            "opferbeauftragte/lotse-system",
            "AlertAcknowledged",
            "NeedsReported",
            "Declared",
        ]:
            assert whole_on_one_line(result.stdout, word), (
                f"{word!r} cut ({where}):\n{result.stdout}"
            )


async def test_history_in_a_file_is_one_line_per_event(lotse: Lotse, incident: str) -> None:
    result = await lotse("history", incident, env_extra=not_a_terminal())

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"history of incident {incident}"
    sent = [line for line in lines if "event: AlertSent" in line]
    assert len(sent) == 4
    for partner in PARTNERS:
        assert len([line for line in sent if f"partner: {partner};" in line]) == 1
    (acknowledged,) = [line for line in lines if "event: AlertAcknowledged" in line]
    assert "actor: opferbeauftragte/rufbereitschaft-nacht-2" in acknowledged
    assert "on behalf of: opferhilfe-sachsen" in acknowledged
    assert "channel: phone" in acknowledged


async def test_incident_list_shows_the_incident_id_whole(lotse: Lotse, incident: str) -> None:
    for where, env in OUTPUTS:
        result = await lotse("incident", "list", env_extra=env)

        assert result.exit_code == 0, (where, result.output)
        assert "…" not in result.stdout, (where, result.stdout)
        assert whole_on_one_line(result.stdout, incident), (where, result.stdout)


async def test_incident_list_on_a_wide_terminal_is_a_table_with_the_whole_id(
    lotse: Lotse, incident: str
) -> None:
    result = await lotse("incident", "list", env_extra=terminal(200))

    assert result.exit_code == 0, result.output
    (row,) = [line for line in result.stdout.splitlines() if incident in line]
    assert row.startswith(f"│ {incident} │")


async def test_incident_status_shows_the_incident_and_each_partner_whole(
    lotse: Lotse, incident: str
) -> None:
    for where, env in OUTPUTS:
        result = await lotse("incident", "status", incident, env_extra=env)

        assert result.exit_code == 0, (where, result.output)
        assert "…" not in result.stdout, (where, result.stdout)
        for word in [incident, *PARTNERS, "acknowledged", "pending"]:
            assert whole_on_one_line(result.stdout, word), (
                f"{word!r} cut ({where}):\n{result.stdout}"
            )


async def test_agreement_show_shows_each_partner_id_and_contact_whole(
    lotse: Lotse, stack: Stack
) -> None:
    for where, env in OUTPUTS:
        result = await lotse("agreement", "show", env_extra=env)

        assert result.exit_code == 0, (where, result.output)
        assert "…" not in result.stdout, (where, result.stdout)
        for word in [*PARTNERS, "landesbuero@weisser-ring.example.org"]:
            assert whole_on_one_line(result.stdout, word), (
                f"{word!r} cut ({where}):\n{result.stdout}"
            )
