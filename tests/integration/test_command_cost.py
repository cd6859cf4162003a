"""A command's cost does not grow with the incident's stream, and stays correct when it is shared.

The application keeps recent incidents and fast-forwards them with only the events written since
(issue #6): these tests count what is read from the real store (SQLite and PostgreSQL) by
wrapping the application's own mapper and recorder, and run writers in two OS processes.
"""

from __future__ import annotations

import multiprocessing
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from eventsourcing.application import LRUCache, project_aggregate

from contracts.agreement import AgreementTerms
from contracts.messages import Actor, CommandContext, IncidentDeclaration, NeedReport
from contracts.vocabulary import ActorChannel, IncidentKind, NeedCategory, Region
from domain.application import LotseApplication
from domain.errors import IncidentNotFoundError, PhaseNotAllowedError
from domain.incident import Incident
from settings import Settings

MakeCtx = Callable[..., CommandContext]

INCIDENT = "dresden-2026-11-14"
OCCURRED_AT = datetime(2026, 11, 14, 20, 15, tzinfo=UTC)
REPORTS_PER_PROCESS = 60


def declaration() -> IncidentDeclaration:
    return IncidentDeclaration(
        title="Angriff am Altmarkt",
        kind=IncidentKind.EXTREMIST,
        occurred_at=OCCURRED_AT,
        location="Altmarkt, Dresden",
        region=Region.DRESDEN,
        declared_by=Actor(partner_id="opferbeauftragte", staff_ref="lagedienst-1"),
    )


def needs(count: int, region: Region = Region.DRESDEN) -> list[NeedReport]:
    return [NeedReport(category=NeedCategory.PSYCHOSOCIAL, region=region, count=count)]


class Counter:
    """Counts the calls of one method of a real object, passing each call through."""

    def __init__(self, owner: Any, method: str) -> None:
        self.calls = 0
        original = getattr(owner, method)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return original(*args, **kwargs)

        setattr(owner, method, counted)


@pytest.fixture
def app(store_settings: Settings) -> Iterator[LotseApplication]:
    application = LotseApplication(env=store_settings.event_store_env())
    yield application
    application.close()


@pytest.fixture
def declared(app: LotseApplication, agreement_terms: AgreementTerms, make_ctx: MakeCtx) -> str:
    app.load_agreement(agreement_terms, make_ctx())
    app.declare_incident(INCIDENT, declaration(), agreement_terms.agreement_id, make_ctx())
    return INCIDENT


def decoded_per_command(app: LotseApplication, make_ctx: MakeCtx, commands: int) -> list[int]:
    decoded = Counter(app.mapper, "to_domain_event")
    per_command: list[int] = []
    for _ in range(commands):
        before = decoded.calls
        app.report_needs(INCIDENT, needs(1), make_ctx())
        per_command.append(decoded.calls - before)
    return per_command


@pytest.mark.slow
def test_a_command_decodes_as_many_events_after_500_as_after_10(
    app: LotseApplication, declared: str, make_ctx: MakeCtx
) -> None:
    early = decoded_per_command(app, make_ctx, 10)
    decoded_per_command(app, make_ctx, 490)
    late = decoded_per_command(app, make_ctx, 10)

    # The first command rebuilds the one-event incident; after that each one works on the kept
    # incident, which already has its own last event, so it decodes nothing, however long the
    # stream is (another writer's events would be the only ones read).
    assert early == [1] + [0] * 9
    assert late == [0] * 10
    assert app.incident(INCIDENT).needs == {"psychosocial": {"dresden": 510}}


def test_the_agreement_of_an_incident_is_built_once_per_version(
    app: LotseApplication, declared: str
) -> None:
    incident = app.incident(INCIDENT)
    first = app.agreement_of(incident)
    decoded = Counter(app.mapper, "to_domain_event")

    again = app.agreement_of(incident)

    assert decoded.calls == 0
    assert again.version == first.version == incident.agreement_version
    assert list(again.partners) == list(first.partners)


def test_an_agreement_asked_for_beyond_its_version_is_not_kept_as_that_version(
    app: LotseApplication,
    agreement_terms: AgreementTerms,
    declared: str,
    make_ctx: MakeCtx,
) -> None:
    current = app.agreement(agreement_terms.agreement_id).version
    # Asking for a version not yet recorded yields the latest; that must not be remembered as
    # the later version, which a revision will make something else.
    assert app.agreement(agreement_terms.agreement_id, current + 1).version == current
    revised = agreement_terms.model_copy(update={"title": agreement_terms.title + " (neu)"})
    app.load_agreement(revised, make_ctx())

    later = app.agreement(agreement_terms.agreement_id, current + 1)

    assert later.version == current + 1
    assert later.title == revised.title


def test_history_reads_the_stored_events_once(
    app: LotseApplication, declared: str, make_ctx: MakeCtx
) -> None:
    for count in (3, 4):
        app.report_needs(INCIDENT, needs(count), make_ctx())
    reads = Counter(app.recorder, "select_events")

    entries = app.history(INCIDENT)

    assert reads.calls == 1
    assert [entry.event for entry in entries] == ["Declared", "NeedsReported", "NeedsReported"]


def test_history_of_an_unknown_incident_is_refused(app: LotseApplication, declared: str) -> None:
    with pytest.raises(IncidentNotFoundError, match="no incident 'chemnitz-1' is recorded"):
        app.history("chemnitz-1")


def test_a_save_that_lost_a_race_leaves_nothing_behind_and_the_retry_counts_once(
    store_settings: Settings, app: LotseApplication, declared: str, make_ctx: MakeCtx
) -> None:
    other = LotseApplication(env=store_settings.event_store_env())
    app.report_needs(INCIDENT, needs(1), make_ctx())  # the incident is now kept by `app`
    theirs, mine = make_ctx(), make_ctx()

    def report_while_another_writes(incident: Incident) -> None:
        # Between this application's read and its save, another one records its report; the
        # second attempt finds that report applied already, so it writes nothing again.
        other.report_needs(INCIDENT, needs(10), theirs)
        incident.report_needs(needs(100), mine)

    try:
        app._command(INCIDENT, mine, report_while_another_writes)
        kept = app.incident(INCIDENT)
        rebuilt = other.incident(INCIDENT)
    finally:
        other.close()

    assert [entry.version for entry in app.history(INCIDENT)] == [1, 2, 3, 4]
    assert kept.version == rebuilt.version == 4
    assert kept.needs == rebuilt.needs == {"psychosocial": {"dresden": 111}}
    assert kept.command_ids == rebuilt.command_ids


def test_a_command_that_fails_after_its_event_leaves_the_kept_incident_as_recorded(
    app: LotseApplication, declared: str, make_ctx: MakeCtx
) -> None:
    app.report_needs(INCIDENT, needs(1), make_ctx())  # the incident is now kept by `app`

    def report_then_fail(incident: Incident) -> None:
        # A failure between the event and the commit (here: raised by the command itself).
        incident.report_needs(needs(100), make_ctx())
        raise RuntimeError("store went away")

    with pytest.raises(RuntimeError, match="store went away"):
        app._command(INCIDENT, make_ctx(), report_then_fail)
    app.report_needs(INCIDENT, needs(2), make_ctx())

    assert app.incident(INCIDENT).needs == {"psychosocial": {"dresden": 3}}
    assert app.incident(INCIDENT).version == 3


def test_a_refused_command_keeps_the_kept_incident_without_reading_it_again(
    app: LotseApplication, declared: str, make_ctx: MakeCtx
) -> None:
    app.report_needs(INCIDENT, needs(1), make_ctx())
    app.call_off(INCIDENT, "Fehlalarm", make_ctx())
    decoded = Counter(app.mapper, "to_domain_event")

    with pytest.raises(PhaseNotAllowedError):
        app.report_needs(INCIDENT, needs(5), make_ctx())
    assert app.incident(INCIDENT).needs == {"psychosocial": {"dresden": 1}}
    # A refusal comes before any event, so the kept incident stays and nothing is re-read.
    assert decoded.calls == 0


def test_an_earlier_version_is_read_past_the_kept_incident_and_does_not_replace_it(
    app: LotseApplication, declared: str, make_ctx: MakeCtx
) -> None:
    app.report_needs(INCIDENT, needs(5), make_ctx())
    app.report_needs(INCIDENT, needs(7), make_ctx())

    first = app.incident(INCIDENT, version=1)
    now = app.incident(INCIDENT)

    assert (first.version, first.needs) == (1, {})
    assert (now.version, now.needs) == (3, {"psychosocial": {"dresden": 12}})


def ctx_fields() -> dict[str, Any]:
    return {
        "command_id": str(uuid.uuid4()),
        "actor": Actor(partner_id="opferbeauftragte", staff_ref="lagedienst-1"),
        "channel": ActorChannel.UI,
        "business_time": datetime.now(UTC),
        "workflow_id": "wf-test",
        "run_id": "run-test",
    }


def report_many(env: dict[str, str], region: str, start: Any) -> None:
    """One writer process: its own application on the shared store, many needs reports."""
    app = LotseApplication(env=env)
    try:
        start.wait()
        for _ in range(REPORTS_PER_PROCESS):
            app.report_needs(INCIDENT, needs(1, Region(region)), CommandContext(**ctx_fields()))
    finally:
        app.close()


@pytest.mark.slow
def test_two_processes_reporting_on_one_incident_lose_and_double_nothing(
    app: LotseApplication, declared: str, store_settings: Settings
) -> None:
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Event()
    env = store_settings.event_store_env()
    writers = [
        spawn.Process(target=report_many, args=(env, region, start))
        for region in (Region.DRESDEN.value, Region.LEIPZIG.value)
    ]
    for writer in writers:
        writer.start()
    # The parent keeps the incident too and reads between the writers' saves.
    app.incident(INCIDENT)
    start.set()
    for writer in writers:
        writer.join(timeout=120)
    assert [writer.exitcode for writer in writers] == [0, 0]

    incident = app.incident(INCIDENT)
    history = app.history(INCIDENT)

    assert [entry.version for entry in history] == list(range(1, 2 * REPORTS_PER_PROCESS + 2))
    assert incident.version == 2 * REPORTS_PER_PROCESS + 1
    assert incident.needs == {
        "psychosocial": {"dresden": REPORTS_PER_PROCESS, "leipzig": REPORTS_PER_PROCESS}
    }
    assert len(incident.command_ids) == 2 * REPORTS_PER_PROCESS + 1


def test_the_configured_number_of_aggregates_is_kept(sqlite_settings: Settings) -> None:
    settings = sqlite_settings.model_copy(update={"aggregate_cache_maxsize": 7})
    with LotseApplication(env=settings.event_store_env()) as application:
        cache = application.repository.cache
        assert isinstance(cache, LRUCache)
        assert cache.maxsize == 7
        assert application.repository.fastforward
        assert application.repository.deepcopy_from_cache


def test_replay_does_not_go_through_the_librarys_checking_projector(
    app: LotseApplication, declared: str, make_ctx: MakeCtx
) -> None:
    # `project_aggregate` checks every event with a runtime protocol `isinstance`, which
    # costs more than applying the event; every read of ours passes its own projector.
    projectors: list[object] = []
    get = app.repository.get

    def recording_get(*args: Any, **kwargs: Any) -> Any:
        projectors.append(kwargs.get("projector_func", project_aggregate))
        return get(*args, **kwargs)

    app.repository.get = recording_get  # type: ignore[method-assign]  # the test's own spy
    app.report_needs(INCIDENT, needs(2), make_ctx())
    app.incident(INCIDENT, version=1)
    app.agreement_of(app.incident(INCIDENT))

    assert len(projectors) == 4
    assert project_aggregate not in projectors
