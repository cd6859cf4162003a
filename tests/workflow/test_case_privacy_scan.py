"""Nothing Temporal stores identifies a person: a person registered with a known name, address,
phone and e-mail is driven through a referral, and none of them is in the dev server's database
file, the case's search attributes, its summary and details, or the logs of server and worker —
while the referral e-mail to the service carries them, as consent allows.

A dev server of its own with `--db-filename`: the shared one keeps its state in memory.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.testing import WorkflowEnvironment

from contracts.vocabulary import SEARCH_ATTRIBUTE_NAMES
from tests.workflow.case_support import (
    ERIKA,
    TWO_OFFERS,
    consent,
    declared_incident,
    record_contact,
    referral_in,
    register,
    send,
    service,
)
from tests.workflow.support import SHIPPED_AGREEMENT, TEMPORAL_BINARY, running_stack
from workflows.converter import data_converter

pytestmark = pytest.mark.slow

OFFER_MAIL = "beratung-dresden@opferhilfe-sachsen.example.org"
MAIL_SERVER_LOGGER = "mail.log"
"""aiosmtpd, the test's own SMTP server: the recipient's side, which logs what it receives."""
PERSONAL = {
    "name": "Zyxbeispiel",
    "street": "Qwertzgasse",
    "phone": "555 0142",
    "e-mail": "erika.zyxbeispiel",
}


@pytest.fixture
async def disk_env(tmp_path: Path) -> AsyncIterator[tuple[Client, Path]]:
    db_file = tmp_path / "temporal.db"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(TEMPORAL_BINARY),
        data_converter=data_converter,
        search_attributes=[SearchAttributeKey.for_keyword(n) for n in SEARCH_ATTRIBUTE_NAMES],
        dev_server_extra_args=["--db-filename", str(db_file), "--headless", "--log-level", "info"],
    )
    yield env.client, db_file
    await env.shutdown()


def stored(db_file: Path) -> str:
    """The server's database as on disk, write-ahead log included, as text."""
    wal = db_file.with_name(db_file.name + "-wal")
    data = db_file.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    return data.decode("latin-1")


def found_in(text: str) -> list[str]:
    return [what for what, value in PERSONAL.items() if value in text]


async def test_nothing_temporal_stores_or_logs_identifies_the_person(
    disk_env: tuple[Client, Path],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    client, db_file = disk_env
    folder = tmp_path / "stack"
    folder.mkdir()
    async with running_stack(client, folder, SHIPPED_AGREEMENT, TWO_OFFERS, codec=True) as stack:
        incident_id = await declared_incident(stack)
        handle = await register(stack, incident_id)
        record_contact(stack, incident_id)
        await consent(handle, "opferhilfe-sachsen", "needs", "name", "phone", "address", "email")
        await send(handle, "assess_needs", needs=[{"category": "psychosocial"}])
        await referral_in(handle, "R1", "sent")
        await send(
            handle,
            "accept_referral",
            referral_id="R1",
            actor=service("opferhilfe-sachsen").model_dump(),
        )
        described = await handle.describe()
        details = await handle.query("__temporal_workflow_metadata")
        (mail,) = [m for m in stack.mails() if str(m["To"]) == OFFER_MAIL]

    # The data did flow where it should: to the service, as consent allows.
    body = mail.get_content()
    assert ERIKA.name in body
    assert sorted(found_in(body)) == sorted(PERSONAL)

    on_disk = stored(db_file)
    assert "DD-0042" in on_disk  # the scan reads the file: the pseudonym is there in the clear
    assert found_in(on_disk) == []
    attributes = {key.name: str(value) for key, value in described.typed_search_attributes}
    assert attributes["CaseIncident"] == incident_id
    assert found_in(" ".join(attributes.values())) == []
    assert found_in(f"{described.static_summary} {described.static_details} {details}") == []
    ours = [r for r in caplog.records if not r.name.startswith(MAIL_SERVER_LOGGER)]
    assert any(r.name.startswith("temporalio") for r in ours)  # the worker's logs were caught
    server_output = "".join(capfd.readouterr())
    logs = "\n".join(r.getMessage() for r in ours) + server_output
    assert found_in(logs) == []
