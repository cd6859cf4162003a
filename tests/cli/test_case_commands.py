"""`lotse person …`, `lotse case …`, `lotse cases overdue` and `lotse privacy …` against a real
dev server, as an operator at the hotline and a data-protection officer type them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cli.case import describe_status
from contracts.case_messages import CaseStatus
from contracts.people import NeedStatus
from tests.cli.support import Lotse, declare
from tests.cli.test_incident_commands import one_error_line
from tests.workflow.support import Stack, eventually

NAME = "Erika Zyxbeispiel"
PHONE = "+49 351 555 0142"
HOTLINE = ("--staff", "hotline-3", "--as", "opferhilfe-sachsen")


def new_id() -> str:
    return f"cli-{uuid.uuid4().hex[:10]}"


async def incident(lotse: Lotse, stack: Stack) -> str:
    incident_id = new_id()
    await declare(lotse, stack, incident_id)
    await eventually(lambda: _recorded(stack, incident_id), bool, what="the declaration")
    return incident_id


def _recorded(stack: Stack, incident_id: str) -> bool:
    try:
        stack.app.incident(incident_id)
    except Exception:
        return False
    return True


async def register(
    lotse: Lotse, stack: Stack, incident_id: str, ref: str = "DD-0042", *extra: str
) -> str:
    result = await lotse(
        "person",
        "register",
        incident_id,
        "--ref",
        ref,
        "--involvement",
        "injured",
        "--source",
        "hotline",
        "--region",
        "dresden",
        *HOTLINE,
        *extra,
    )
    assert result.exit_code == 0, result.output
    case_id = f"{incident_id}--{ref}"
    assert f"case:   {case_id}" in result.stdout
    stack.handles.append(stack.client.get_workflow_handle(case_id))
    return case_id


async def case_status(lotse: Lotse, case_id: str) -> CaseStatus:
    result = await lotse("case", "status", case_id, "--json")
    assert result.exit_code == 0, result.output
    return CaseStatus.model_validate_json(result.stdout)


async def ok(lotse: Lotse, *args: str) -> str:
    result = await lotse(*args)
    assert result.exit_code == 0, result.output
    return str(result.stdout)


def person_events(stack: Stack, case_id: str) -> list[str]:
    incident_id, _, ref = case_id.rpartition("--")
    return [entry.event for entry in stack.app.person_history(incident_id, ref)]


async def test_a_hotline_operator_registers_a_person_and_drives_the_case_to_first_contact(
    lotse: Lotse, stack: Stack
) -> None:
    incident_id = await incident(lotse, stack)
    case_id = await register(lotse, stack, incident_id, "DD-0042", "--name", NAME, "--phone", PHONE)

    shown = await ok(lotse, "person", "show", case_id)
    assert NAME in shown
    assert PHONE in shown
    await ok(
        lotse,
        "case",
        "consent",
        case_id,
        "--recipient",
        "opferhilfe-sachsen",
        "--data",
        "needs,name,phone",
        "--method",
        "oral",
        *HOTLINE,
    )
    await ok(lotse, "case", "needs", case_id, "--need", "psychosocial:immediate", *HOTLINE)
    sent = await eventually(
        lambda: case_status(lotse, case_id),
        lambda case: bool(case.referrals) and case.referrals[0].status == "sent",
        what="the referral to be sent",
    )
    assert sent.referrals[0].provider_id == "opferhilfe-sachsen"

    service = ("--staff", "aufnahme-1", "--as", "opferhilfe-sachsen")
    accepted = await ok(lotse, "case", "accept", case_id, "R1", *service)
    assert f"{case_id}: recorded — needs: psychosocial referred" in accepted
    await ok(lotse, "case", "contact", case_id, "R1", *service)
    case = await case_status(lotse, case_id)
    assert case.needs[0].status is NeedStatus.IN_CARE
    text = await ok(lotse, "case", "status", case_id)
    assert "need psychosocial: in-care, owner opferhilfe-sachsen" in text
    assert person_events(stack, case_id)[:3] == ["Registered", "ContactRecorded", "ConsentGiven"]


async def test_registering_the_same_person_again_changes_nothing(
    lotse: Lotse, stack: Stack
) -> None:
    incident_id = await incident(lotse, stack)
    contact = ("--name", NAME, "--phone", PHONE)
    case_id = await register(lotse, stack, incident_id, "DD-0042", *contact)
    again = await register(lotse, stack, incident_id, "DD-0042", *contact)

    assert again == case_id
    assert person_events(stack, case_id) == ["Registered", "ContactRecorded"]


async def test_refused_input_is_one_error_line_that_never_repeats_personal_data(
    lotse: Lotse, stack: Stack
) -> None:
    incident_id = await incident(lotse, stack)
    base = ["person", "register", incident_id, "--involvement", "injured", "--source", "hotline"]
    named = await lotse(*base, "--ref", "Erika", "--region", "dresden", *HOTLINE)
    assert "person_ref" in one_error_line(named)

    phone = await lotse(
        *base,
        "--ref",
        "DD-0050",
        "--region",
        "dresden",
        "--name",
        NAME,
        "--phone",
        "ruf an",
        *HOTLINE,
    )
    line = one_error_line(phone)
    assert "phone" in line
    assert "ruf an" not in line
    assert NAME not in line

    unknown = await lotse(
        *base[:2],
        "no-such-incident",
        *base[3:],
        "--ref",
        "DD-0051",
        "--region",
        "dresden",
        *HOTLINE,
    )
    assert "no-such-incident" in one_error_line(unknown)


async def test_a_referral_by_hand_without_consent_is_refused_in_one_line(
    lotse: Lotse, stack: Stack
) -> None:
    incident_id = await incident(lotse, stack)
    case_id = await register(lotse, stack, incident_id)
    await ok(lotse, "case", "needs", case_id, "--need", "psychosocial", *HOTLINE)

    refused = await lotse(
        "case", "refer", case_id, "--category", "psychosocial", "--offer", "ohs-dresden", *HOTLINE
    )
    line = one_error_line(refused)
    assert "no consent to refer the person to 'ohs-dresden'" in line
    assert "ReferralProposed" not in person_events(stack, case_id)


async def test_cases_overdue_lists_what_is_late_oldest_first(
    lotse: Lotse, stack: Stack, tmp_path: Path
) -> None:
    incident_id = await incident(lotse, stack)
    quick = tmp_path / "deadlines.json"
    quick.write_text(json.dumps({"consent": 1}), encoding="utf-8")
    first = await register(lotse, stack, incident_id, "DD-0042", "--deadlines", str(quick))
    second = await register(lotse, stack, incident_id, "DD-0043", "--deadlines", str(quick))
    for case_id in (first, second):
        await ok(lotse, "case", "needs", case_id, "--need", "legal", *HOTLINE)

    async def listed() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = json.loads(
            await ok(lotse, "cases", "overdue", incident_id, "--json")
        )
        return found

    items = await eventually(listed, lambda found: len(found) == 2, what="two overdue needs")
    assert [(i["person_ref"], i["category"], i["owner"]) for i in items] == [
        ("DD-0042", "legal", "opferhilfe-sachsen"),
        ("DD-0043", "legal", "opferhilfe-sachsen"),
    ]
    table = await ok(lotse, "cases", "overdue", incident_id)
    assert table.index("DD-0042") < table.index("DD-0043")
    assert "no-such" in one_error_line(await lotse("cases", "overdue", "no-such-incident"))


async def test_privacy_erase_makes_the_person_unreadable_and_the_export_says_so(
    lotse: Lotse, stack: Stack, tmp_path: Path
) -> None:
    incident_id = await incident(lotse, stack)
    case_id = await register(lotse, stack, incident_id, "DD-0042", "--name", NAME, "--phone", PHONE)
    other = await register(lotse, stack, incident_id, "DD-0043", "--name", "Jonas Qwertmuster")

    before = await ok(lotse, "privacy", "export", case_id)
    assert NAME in before
    asked = await lotse("privacy", "erase", case_id, "--staff", "dsb-1", "--as", "opferbeauftragte")
    assert "--yes" in one_error_line(asked)

    erase = ("privacy", "erase", case_id, "--staff", "dsb-1", "--as", "opferbeauftragte", "--yes")
    erasing = await lotse(*erase)
    assert erasing.exit_code == 0, erasing.output
    assert "personal data erased" in erasing.stdout
    assert "--update-id" not in erasing.stderr  # the command has none: it repeats as it is
    assert "personal data erased" in await ok(lotse, *erase)  # a repeat changes nothing
    assert person_events(stack, case_id).count("PersonalDataErased") == 1

    assert "erased" in one_error_line(await lotse("person", "show", case_id))
    exported = tmp_path / "export.json"
    await ok(lotse, "privacy", "export", case_id, "--output", str(exported))
    text = exported.read_text(encoding="utf-8")
    assert NAME not in text
    assert PHONE not in text
    assert json.loads(text)["contact"] == "erased"
    assert oct(exported.stat().st_mode)[-3:] == "600"
    assert "Jonas Qwertmuster" in await ok(lotse, "person", "show", other)
    await eventually(
        lambda: case_status(lotse, case_id),
        lambda case: case.closed_reason == "erased",
        what="the case to follow the erasure",
    )


def test_the_case_status_reads_in_80_columns() -> None:
    status = CaseStatus.model_validate(
        {
            "case_id": "2026-12-05-dresden-striezelmarkt--DD-0042",
            "incident_id": "2026-12-05-dresden-striezelmarkt",
            "person_ref": "DD-0042",
            "involvement": "injured",
            "region": "saechsische-schweiz-osterzgebirge",
            "language": "de",
            "registered_at": datetime(2026, 12, 5, 17, 0, tzinfo=UTC),
            "consents": [],
            "needs": [],
            "referrals": [],
            "follow_ups": [],
            "open_items": [
                "psychosoziale Unterstützung: zugestellt, Bestätigung ausstehend — zuständig "
                "opferhilfe-sachsen, fällig 07.12.2026 18:00"
            ],
        }
    )
    lines = describe_status(status)
    assert max(len(line) for line in lines) <= 80
    assert lines[-2].startswith("  open: psychosoziale Unterstützung")
    assert lines[-1].startswith("        ")
