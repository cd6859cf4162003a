"""Point-in-time replay on both stores: the incident, its people, the agreement and the directory
in force, at moments between the steps of one invented incident and at its versions, against
what was recorded by hand at each step (tests/timeline_support.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from contracts.agreement import AgreementTerms
from contracts.vocabulary import cli_time
from domain import ids
from domain.application import LotseApplication
from domain.errors import IncidentNotFoundError
from domain.replay import (
    IncidentReplay,
    ReplayBeforeDeclarationError,
    ReplayVersionError,
    replay_at_moment,
    replay_at_version,
)
from settings import Settings
from tests.timeline_support import DIRECTORY, INCIDENT, PERSON, Moments, record_incident

SHIPPED_OFFERS = 19  # offers in agreements/support-offers.toml


@pytest.fixture
def recorded(
    store_settings: Settings, agreement_terms: AgreementTerms
) -> Iterator[tuple[LotseApplication, Moments]]:
    writer = LotseApplication(env=store_settings.event_store_env())
    moments = record_incident(writer, agreement_terms)
    writer.close()
    reader = LotseApplication(env=store_settings.event_store_env())  # a CLI process later on
    yield reader, moments
    reader.close()


def at(app: LotseApplication, moment: object) -> IncidentReplay:
    return replay_at_moment(app, INCIDENT, moment, DIRECTORY)  # type: ignore[arg-type]


def alert_states(replay: IncidentReplay) -> dict[str, str]:
    return {alert.partner_id: alert.state for alert in replay.alerts}


def test_right_after_the_declaration_every_alert_is_pending_and_nobody_is_registered(
    recorded: tuple[LotseApplication, Moments],
) -> None:
    app, moments = recorded
    replay = at(app, moments.declared)
    assert (replay.version, replay.phase) == (1, "alerting")
    assert set(alert_states(replay).values()) == {"pending"}
    assert replay.people == []
    assert replay.needs == []
    assert replay.agreement is not None
    assert replay.agreement.revision == 1
    assert replay.declared_under_revision == 1
    assert replay.directory is not None
    assert replay.directory.revision == 1
    assert len(replay.directory.offers) == SHIPPED_OFFERS


def test_an_acknowledgement_by_phone_shows_once_it_was_recorded(
    recorded: tuple[LotseApplication, Moments],
) -> None:
    app, moments = recorded
    replay = at(app, moments.first_ack)
    assert replay.version == 2
    assert alert_states(replay) == {
        "opferbeauftragte": "pending",
        "opferhilfe-sachsen": "pending",
        "weisser-ring": "acknowledged",
        "raa-sachsen": "pending",
    }
    [ack] = [alert for alert in replay.alerts if alert.state == "acknowledged"]
    assert not ack.late
    assert ack.acknowledged_at is not None


def test_a_person_registered_then_has_consent_and_a_need_awaiting_a_referral(
    recorded: tuple[LotseApplication, Moments],
) -> None:
    app, moments = recorded
    replay = at(app, moments.person_assessed)
    assert replay.version == 2  # the incident itself did not move
    [person] = replay.people
    assert (person.person_ref, person.version, person.registered_by) == (
        PERSON,
        4,
        "opferhilfe-sachsen",
    )
    [consent] = person.consents
    assert (consent.recipient, consent.withdrawn_at) == ("weisser-ring", None)
    [need] = person.needs
    assert (need.category, need.status, need.owner) == (
        "psychosocial",
        "awaiting-referral",
        "opferhilfe-sachsen",
    )
    assert person.referrals == []
    assert "Quellmalz" not in replay.model_dump_json()  # the contact never reaches a replay


def test_once_every_partner_acknowledged_the_incident_coordinates_needs_and_assignments(
    recorded: tuple[LotseApplication, Moments],
) -> None:
    app, moments = recorded
    replay = at(app, moments.coordinating)
    assert (replay.version, replay.phase) == (7, "coordinating")
    assert set(alert_states(replay).values()) == {"acknowledged"}
    [need] = replay.needs
    assert (need.category, need.by_region, need.assigned_to) == (
        "psychosocial",
        {"dresden": 5},
        "weisser-ring",
    )
    assert replay.agreement is not None
    assert replay.agreement.revision == 1


def test_the_agreement_in_force_is_the_revision_loaded_by_then_not_the_declared_one(
    recorded: tuple[LotseApplication, Moments],
) -> None:
    app, moments = recorded
    replay = at(app, moments.agreement_revised)
    assert replay.agreement is not None
    assert (replay.agreement.revision, replay.declared_under_revision) == (2, 1)
    assert replay.agreement.partner_ids == [
        "opferbeauftragte",
        "opferhilfe-sachsen",
        "weisser-ring",
        "raa-sachsen",
    ]


def test_a_withdrawal_shows_with_the_referral_it_ended_never_half_of_it(
    recorded: tuple[LotseApplication, Moments],
) -> None:
    app, moments = recorded
    [person] = at(app, moments.consent_withdrawn).people
    [consent] = person.consents
    assert consent.withdrawn_at is not None
    [referral] = person.referrals
    assert (referral.referral_id, referral.status, referral.offer_id) == (
        "r1",
        "withdrawn",
        "wr-aussenstelle-dd",
    )
    assert [need.status for need in person.needs] == ["awaiting-consent"]
    # The withdrawal recorded ConsentWithdrawn and ReferralWithdrawn as one step: a moment
    # between its two events still shows the referral sent and the consent valid.
    events = events_of(app)
    withdrawn, ended = events[-2], events[-1]
    assert type(withdrawn).__name__ == "ConsentWithdrawn"
    assert type(ended).__name__ == ("ReferralWithdrawn")
    [between] = at(app, withdrawn.timestamp).people
    assert [r.status for r in between.referrals] == ["sent"]
    assert between.consents[0].withdrawn_at is None


def test_the_directory_in_force_is_the_revision_loaded_by_then(
    recorded: tuple[LotseApplication, Moments],
) -> None:
    app, moments = recorded
    before = at(app, moments.consent_withdrawn).directory
    after = at(app, moments.directory_revised).directory
    assert before is not None
    assert after is not None
    assert (before.revision, len(before.offers)) == (1, SHIPPED_OFFERS)
    assert (after.revision, len(after.offers)) == (2, SHIPPED_OFFERS - 1)
    assert before.offers[0].offer_id not in [offer.offer_id for offer in after.offers]


def test_at_a_version_the_incident_is_exactly_that_version_and_the_rest_as_it_was_then(
    recorded: tuple[LotseApplication, Moments],
) -> None:
    app, moments = recorded
    assert replay_at_version(app, INCIDENT, 7, DIRECTORY) == at(
        app, moments.coordinating
    ).model_copy(update={"asked": None})
    closed = replay_at_version(app, INCIDENT, 8, DIRECTORY)  # AcutePhaseClosed, not yet scheduled
    assert (closed.phase, closed.reflection_due_at) == ("awaiting-reflection", None)
    assert replay_at_version(app, INCIDENT, 9, DIRECTORY).reflection_due_at is not None
    assert at(app, moments.acute_closed).version == 9


def test_before_the_declaration_and_past_the_last_version_are_refused_by_name(
    recorded: tuple[LotseApplication, Moments],
) -> None:
    app, moments = recorded
    declared_at = events_of(app, incident=True)[0].timestamp
    with pytest.raises(ReplayBeforeDeclarationError) as refused:
        at(app, moments.before_declaration)
    assert str(refused.value) == (
        f"incident '{INCIDENT}' was declared at {cli_time(declared_at)} (Europe/Berlin, recorded "
        f"time); nothing of it is recorded at or before {cli_time(moments.before_declaration)}"
    )
    with pytest.raises(ReplayVersionError, match=r"has no version 10 \(versions: 1 to 9\)"):
        replay_at_version(app, INCIDENT, 10, DIRECTORY)
    with pytest.raises(IncidentNotFoundError, match="no incident 'nowhere' is recorded"):
        replay_at_moment(app, "nowhere", moments.declared, DIRECTORY)
    with pytest.raises(IncidentNotFoundError, match="no incident 'nowhere' is recorded"):
        replay_at_version(app, "nowhere", 1, DIRECTORY)


def events_of(app: LotseApplication, *, incident: bool = False) -> list[Any]:
    """The stored events of the person (or the incident), oldest first."""
    aggregate_id = ids.incident_id(INCIDENT) if incident else ids.person_id(INCIDENT, PERSON)
    return list(app.events.get(aggregate_id))
