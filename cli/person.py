"""`lotse person …`: register an affected person (the hotline case) and keep their contact data.

Registration starts the person's `VictimCase` with pseudonymous data only. Contact data given
here never goes through Temporal: it is written straight into the record, encrypted with the
person's own key, once the case has recorded the registration.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from cli.case import CASE, split_case_id
from cli.common import (
    CliError,
    command_hint,
    connect_client,
    incident_errors,
    invocation_settings,
    open_application,
    reports_errors,
    validated,
    workflow_url,
)
from cli.updates import ActingPartnerOpt, ChannelOpt, OperatorChannel, StaffOpt
from contracts.case_messages import CaseStatus, RegisterPerson
from contracts.messages import Actor, CommandContext
from contracts.people import ContactData
from contracts.vocabulary import VICTIM_CASE_WORKFLOW_TYPE, ActorChannel, case_workflow_id
from domain.errors import NotFoundError
from settings import Settings
from workflows.case_details import summary

app = typer.Typer(help="Register an affected person; add or show their contact data.")

CONTACT_NAMESPACE = uuid.UUID("9a7c1e52-3d4b-4f68-8e21-5b0c7d9f3a46")
"""Namespace of the command ids of contact data typed at the command line (uuid5 of the case
and the data): the same data entered twice is recorded once."""
RECORDED_WAIT_SECONDS = 30.0

NameOpt = Annotated[str | None, typer.Option("--name", metavar="NAME", help="Personal data.")]
PhoneOpt = Annotated[str | None, typer.Option("--phone", metavar="PHONE")]
EmailOpt = Annotated[str | None, typer.Option("--email", metavar="EMAIL")]
AddressOpt = Annotated[str | None, typer.Option("--address", metavar="ADDRESS")]
BornOpt = Annotated[str | None, typer.Option("--born", metavar="YYYY-MM-DD", help="Date of birth.")]


@app.command("register")
@reports_errors
def register(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(metavar="INCIDENT", help="The incident id.")],
    ref: Annotated[
        str, typer.Option("--ref", metavar="REF", help="Pseudonymous reference, e.g. DD-0042.")
    ],
    involvement: Annotated[
        str,
        typer.Option(
            "--involvement",
            metavar="KIND",
            help="injured, bereaved, witness, first-aider, missing-person-enquirer, close-person",
        ),
    ],
    source: Annotated[
        str,
        typer.Option(
            "--source",
            metavar="SOURCE",
            help="police-list, red-cross, hotline, self-referral or partner",
        ),
    ],
    region: Annotated[str, typer.Option("--region", metavar="REGION", help="The district.")],
    staff: StaffOpt,
    acting_partner: ActingPartnerOpt,
    language: Annotated[str, typer.Option("--language", metavar="CODE")] = "de",
    name: NameOpt = None,
    phone: PhoneOpt = None,
    email: EmailOpt = None,
    address: AddressOpt = None,
    born: BornOpt = None,
    deadlines: Annotated[
        Path | None,
        typer.Option(
            "--deadlines",
            metavar="FILE",
            help="JSON with shorter deadlines for an exercise (acknowledge, accept, …).",
        ),
    ] = None,
    channel: ChannelOpt = OperatorChannel.CLI,
) -> None:
    """Register a person for an incident and start their case; contact data goes to the record
    only, encrypted."""
    data: dict[str, Any] = {
        "incident_id": incident_id,
        "person_ref": ref,
        "involvement": involvement,
        "source": source,
        "region": region,
        "language": language,
        "registered_by": {"partner_id": acting_partner, "staff_ref": staff},
        "channel": str(channel),
    }
    if deadlines is not None:
        data["deadlines"] = _json_file(deadlines)
    registration = validated(RegisterPerson, data, "registration")
    contact = _contact(name, phone, email, address, born)
    settings = invocation_settings(ctx)
    case_id = case_workflow_id(incident_id, registration.person_ref)
    with open_application(settings, reading=True) as store:
        store.incident(incident_id)  # a clear error before anything starts
    asyncio.run(start_case(settings, case_id, registration))
    typer.echo(f"registered {registration.person_ref} for incident {incident_id}")
    typer.echo(f"  case:   {case_id}")
    if contact is not None:
        record_contact(
            settings,
            incident_id,
            registration.person_ref,
            registration.registered_by,
            contact,
            str(channel),
        )
        typer.echo("  contact data recorded (encrypted with the person's own key)")
    typer.echo(f"  UI:     {workflow_url(settings, case_id)}")
    typer.echo(f"  status: {command_hint(settings, 'case', 'status', case_id)}")


def _json_file(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CliError(f"{path}: cannot read: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise CliError(f"{path}: not valid JSON: {error}") from None


def _contact(
    name: str | None, phone: str | None, email: str | None, address: str | None, born: str | None
) -> ContactData | None:
    given = {"phone": phone, "email": email, "address": address, "date_of_birth": born}
    if name is None and not any(given.values()):
        return None
    if name is None:
        raise CliError("contact data needs --name as well (the other fields are optional)")
    if born is not None:
        try:
            date.fromisoformat(born)
        except ValueError:
            raise CliError(f"--born '{born}' is not a date (YYYY-MM-DD)") from None
    fields = {key: value for key, value in given.items() if value is not None}
    # The values are personal data: the error names the field, never the value.
    return validated(ContactData, {"name": name, **fields}, "contact data")


async def start_case(settings: Settings, case_id: str, registration: RegisterPerson) -> None:
    """Start the person's case; one already running for the same person is used as it is,
    unless it was registered with other facts."""
    client = await connect_client(settings)
    with incident_errors(case_id, CASE):
        await start_workflow(client, settings, registration)
    status = await _registered_status(client, case_id)
    if status is not None and (status.involvement, status.region) != (
        registration.involvement,
        registration.region,
    ):
        raise CliError(
            f"{registration.person_ref} is already registered for this incident with other "
            f"facts ({status.involvement}, {status.region}); case {case_id}"
        )


async def start_workflow(client: Client, settings: Settings, registration: RegisterPerson) -> None:
    """Start the person's `VictimCase`; one running already is used as it is. An ended one
    is refused (`WorkflowAlreadyStartedError`): a case id is never used twice."""
    await client.start_workflow(
        VICTIM_CASE_WORKFLOW_TYPE,
        registration.model_dump(mode="json"),
        id=case_workflow_id(registration.incident_id, registration.person_ref),
        task_queue=settings.task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        static_summary=summary(
            registration.person_ref, registration.involvement, registration.region
        ),
    )


async def _registered_status(client: Any, case_id: str) -> CaseStatus | None:
    try:
        status: CaseStatus = await client.get_workflow_handle(case_id).query(
            "status", result_type=CaseStatus
        )
    except Exception:
        return None
    return status


def record_contact(
    settings: Settings,
    incident_id: str,
    person_ref: str,
    actor: Actor,
    contact: ContactData,
    channel: str,
) -> None:
    """Write the contact data into the record once the case has recorded the registration."""
    case_id = case_workflow_id(incident_id, person_ref)
    ctx = contact_context(incident_id, person_ref, actor, contact, ActorChannel(channel))
    with open_application(settings) as store:
        deadline = time.monotonic() + RECORDED_WAIT_SECONDS
        while True:
            try:
                store.person(incident_id, person_ref)
                break
            except NotFoundError:
                if time.monotonic() > deadline:
                    raise CliError(
                        f"the case {case_id} has not recorded the registration within "
                        f"{RECORDED_WAIT_SECONDS:.0f}s (is a worker running?); the contact data "
                        "was not recorded — add it later with `lotse person contact`"
                    ) from None
                time.sleep(0.2)
        store.record_contact(incident_id, person_ref, contact, ctx)


def contact_context(
    incident_id: str, person_ref: str, actor: Actor, contact: ContactData, channel: ActorChannel
) -> CommandContext:
    """The context of recording `contact`: its command id follows from the case and the data,
    so the same data entered twice is recorded once."""
    case_id = case_workflow_id(incident_id, person_ref)
    digest = hashlib.sha256(contact.model_dump_json().encode()).hexdigest()
    return CommandContext(
        command_id=f"contact-{uuid.uuid5(CONTACT_NAMESPACE, f'{case_id}/{digest}')}",
        actor=actor,
        channel=channel,
        business_time=datetime.now(UTC),
        workflow_id=case_id,
    )


@app.command("contact")
@reports_errors
def contact(
    ctx: typer.Context,
    case_id: Annotated[str, typer.Argument(metavar="CASE", help="The case id.")],
    staff: StaffOpt,
    acting_partner: ActingPartnerOpt,
    name: NameOpt = None,
    phone: PhoneOpt = None,
    email: EmailOpt = None,
    address: AddressOpt = None,
    born: BornOpt = None,
    channel: ChannelOpt = OperatorChannel.CLI,
) -> None:
    """Add or correct a person's contact data (replaces what was recorded before)."""
    incident_id, ref = split_case_id(case_id)
    given = _contact(name, phone, email, address, born)
    if given is None:
        raise CliError("give the contact data: --name and at least one other field")
    actor = validated(Actor, {"partner_id": acting_partner, "staff_ref": staff}, "actor")
    record_contact(invocation_settings(ctx), incident_id, ref, actor, given, str(channel))
    typer.echo(f"{case_id}: contact data recorded (encrypted with the person's own key)")


@app.command("show")
@reports_errors
def show(
    ctx: typer.Context,
    case_id: Annotated[str, typer.Argument(metavar="CASE", help="The case id.")],
) -> None:
    """The person's contact data from the record (for the office; works without Temporal)."""
    incident_id, ref = split_case_id(case_id)
    with open_application(invocation_settings(ctx), reading=True) as store:
        found = store.contact_of(incident_id, ref)
    if found is None:
        typer.echo(f"{case_id}: no contact data recorded")
        return
    typer.echo(f"{case_id}:")
    for key, value in found.model_dump(mode="json", exclude_none=True).items():
        typer.echo(f"  {key}: {value}")
