"""The README and the examples say what the code does: a renamed setting or update fails here."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from eventsourcing.domain import Aggregate, AggregateEvent
from pydantic import BaseModel
from temporalio.workflow import _Definition

import contracts.agreement
import contracts.case_rules
import contracts.exchange
import contracts.messages
import contracts.offers
import contracts.people
import domain.application
import domain.errors
import domain.event_chain
import domain.person
from contracts.messages import IncidentDeclaration
from domain.agreement import Agreement
from domain.audit_reads import AuditRead
from domain.directory import Directory
from domain.drill import AlertDrill
from domain.exchange import ExchangeMeeting, Measure
from domain.incident import Incident
from domain.offer_load import OfferLoad
from domain.person import AffectedPerson
from domain.roll import PeopleRoll
from settings import Settings
from workflows.drill import AlertDrill as AlertDrillWorkflow
from workflows.incident_response import IncidentResponse
from workflows.regular_exchange import RegularExchange
from workflows.victim_case import VictimCase

REPO_ROOT = Path(__file__).resolve().parent.parent
README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
TEST_ONLY_VARIABLES = {"LOTSE_RECORD_HISTORIES"}


def test_the_readme_opens_with_the_two_commands() -> None:
    first_lines = README.splitlines()[:6]
    assert any(line.startswith("make run") for line in first_lines)
    assert any(line.startswith("make test") for line in first_lines)


def test_every_setting_is_documented_and_every_documented_variable_exists() -> None:
    settings = {f"LOTSE_{name.upper()}" for name in Settings.model_fields}
    documented = set(re.findall(r"`(LOTSE_[A-Z_]+)`", README)) - TEST_ONLY_VARIABLES
    assert settings - documented == set(), "settings missing from the README"
    assert documented - settings == set(), "README names variables that no setting reads"


def test_every_update_and_query_of_the_workflow_is_documented() -> None:
    definition = _Definition.from_class(IncidentResponse)
    assert definition is not None
    assert definition.name == "IncidentResponse"
    for name in [*definition.updates, *definition.queries]:
        assert f"`{name}`" in README, f"{name} is not in the README"


def test_the_example_declarations_exist_and_are_valid() -> None:
    # Not parametrised over the glob: an empty glob would make pytest skip instead of fail.
    examples = sorted((REPO_ROOT / "examples").glob("declaration*.json"))
    assert [path.name for path in examples] != [], "examples/ holds no declaration*.json"
    for path in examples:
        IncidentDeclaration.model_validate(json.loads(path.read_text(encoding="utf-8")))


DOCS = REPO_ROOT / "docs"
BACKTICKED = re.compile(r"`([^`\n]+)`")
CAMEL_CASE = re.compile(r"[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+)+|[A-Z][a-z]+ed")
SNAKE_CASE = re.compile(r"[a-z]+(?:_[a-z]+)+")
EVENT_ROW = re.compile(r"^\| `(?P<event>[A-Za-z]+)` \| (?P<fields>[^|]*) \|", re.MULTILINE)


def _events_of(aggregate: type) -> dict[str, set[str]]:
    """The aggregate's own domain events (the classes `@event` made), each with its fields."""
    generic = set(vars(Aggregate))  # Event, Created, Snapshot: no event of the domain
    return {
        name: set(value.__annotations__) - {"ctx"}
        for name, value in vars(aggregate).items()
        if isinstance(value, type) and issubclass(value, AggregateEvent) and name not in generic
    }


def _domain_events() -> dict[str, set[str]]:
    aggregates = (
        Incident,
        Agreement,
        AffectedPerson,
        Directory,
        OfferLoad,
        PeopleRoll,
        ExchangeMeeting,
        Measure,
        AuditRead,
        AlertDrill,
    )
    events = [_events_of(aggregate) for aggregate in aggregates]
    merged = {name: fields for each in events for name, fields in each.items()}
    # One row per name in record.md: two aggregates may not share an event name.
    assert len(merged) == sum(len(each) for each in events), "an event name is used twice"
    return merged


def _model_names() -> set[str]:
    """Classes the docs may name beside events: the message, case and offer models, the
    domain's errors (the chain's included) and the aggregates."""
    modules = (
        domain.event_chain,
        contracts.messages,
        contracts.agreement,
        contracts.people,
        contracts.case_rules,
        contracts.offers,
        domain.application,
        domain.errors,
        domain.person,
    )
    return {
        name
        for module in modules
        for name, value in vars(module).items()
        if isinstance(value, type) and value.__module__ == module.__name__
    } | {
        Incident.__name__,
        Agreement.__name__,
        AffectedPerson.__name__,
        Directory.__name__,
        OfferLoad.__name__,
        PeopleRoll.__name__,
        ExchangeMeeting.__name__,
        Measure.__name__,
        AuditRead.__name__,
        AlertDrill.__name__,
    }


def _field_names() -> set[str]:
    """Every field of every pydantic model in the contracts: what a doc may name in snake_case."""
    modules = (contracts.messages, contracts.agreement, contracts.offers, contracts.exchange)
    return {
        field
        for module in modules
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, BaseModel)
        for field in value.model_fields
    }


def _doc(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def test_the_docs_name_only_events_and_updates_that_exist() -> None:
    """A renamed event or update fails here instead of leaving the docs silently wrong.

    In record.md every backticked CamelCase name (the form of the domain's past-tense events,
    `AlertSent`, `Closed`) must be an event of domain/incident.py, domain/agreement.py or
    domain/person.py, or a
    model the doc names on purpose (`CommandContext`, `PartnerTerms`). In procedure.md every
    backticked snake_case name must be an update or query of `IncidentResponse` or `VictimCase`
    or a field of
    a contracts model (`received_at`), and every update and query must be described there."""
    events = _domain_events()
    camel = {n for n in BACKTICKED.findall(_doc("record.md")) if CAMEL_CASE.fullmatch(n)}
    unknown_events = camel - set(events) - _model_names()
    assert unknown_events == set(), "record.md names events that the domain does not have"

    handlers: set[str] = set()
    for workflow_class in (IncidentResponse, VictimCase, RegularExchange, AlertDrillWorkflow):
        definition = _Definition.from_class(workflow_class)
        assert definition is not None
        handlers |= {name for name in (*definition.updates, *definition.queries) if name}
    procedure = _doc("procedure.md")
    snake = {n for n in BACKTICKED.findall(procedure) if SNAKE_CASE.fullmatch(n)}
    unknown_updates = snake - handlers - _field_names()
    assert unknown_updates == set(), "procedure.md names updates the workflow does not have"
    missing = {name for name in handlers if f"`{name}`" not in procedure}
    assert missing == set(), "procedure.md does not describe these updates or queries"


def test_the_record_doc_lists_every_event_with_exactly_its_fields() -> None:
    rows = {
        m["event"]: set(BACKTICKED.findall(m["fields"]))
        for m in EVENT_ROW.finditer(_doc("record.md"))
    }
    events = _domain_events()
    assert set(events) - set(rows) == set(), "events without a row in record.md"
    for name, fields in events.items():
        assert rows[name] == fields, f"{name}: record.md lists {rows[name]}, the event has {fields}"


# The design notes the project started from lived outside the repository. A reader of a clone
# cannot follow a pointer there, so the code points at docs/ instead. The names are put together
# here so that this file does not cite those notes itself while it forbids citing them.
OUTSIDE_REFERENCES = ("".join(("DESIGN", ".", "md")), "/".join(("..", "shared")))


def test_no_tracked_file_outside_the_docs_points_at_the_design_notes_outside_the_repository() -> (
    None
):
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True, text=True
    ).stdout.split("\0")
    checked = [
        name for name in tracked if name and not name.startswith("docs/") and name != "README.md"
    ]
    assert len(checked) > 50, "git ls-files listed too few files to mean anything"
    offenders = {
        f"{name}: {reference}"
        for name in checked
        if (REPO_ROOT / name).is_file()
        for reference in OUTSIDE_REFERENCES
        if reference in (REPO_ROOT / name).read_text(encoding="utf-8", errors="replace")
    }
    assert sorted(offenders) == [], "point these at the file in docs/ that says it instead"
