"""The workflow's state is one model that is also what continue-as-new carries; its changes are
pure and tested here without a server."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from contracts.messages import NeedReport
from contracts.vocabulary import AlertState, ContactChannel, EscalationStep, NeedCategory, Region
from workflows.state import REMEMBERED_UPDATES, AlertTrack, IncidentState

GOLDEN = Path(__file__).parent / "golden"


def carried_before_the_state_model() -> IncidentState:
    """A carry-over written by the version before `IncidentState` (its own model, with needs
    and assignments apart), as a running incident may still hand it over after a deployment."""
    payload = json.loads((GOLDEN / "carry_over_before_state_model.json").read_text("utf-8"))
    return IncidentState.model_validate(payload["carry_over"])


def test_a_carry_over_of_the_earlier_version_is_read_with_every_value() -> None:
    state = carried_before_the_state_model()
    assert state.phase == "coordinating"
    assert state.applied_update_ids == ["u-1", "u-2"]
    ring = state.track("weisser-ring")
    assert (ring.state, ring.step, ring.late) == (AlertState.ACKNOWLEDGED, "deputy", True)
    assert ring.delivered_steps == [EscalationStep.PRIMARY, EscalationStep.DEPUTY]
    assert ring.seconds_to_acknowledge == 2400.0
    assert [(n.category, n.count, n.by_region, n.assigned_to) for n in state.needs] == [
        (NeedCategory.LEGAL, 5, {Region.DRESDEN: 3, Region.LEIPZIG: 2}, "weisser-ring"),
        (NeedCategory.FINANCIAL, 0, {}, "weisser-ring"),
    ]
    assert state.assigned_to(NeedCategory.FINANCIAL) == "weisser-ring"


def test_what_continue_as_new_carries_is_the_state_itself() -> None:
    state = carried_before_the_state_model()
    state.add_needs([NeedReport(category=NeedCategory.PRACTICAL, region=Region.MEISSEN, count=4)])
    state.track("opferbeauftragte").delivery_failed(
        EscalationStep.DEPUTY, ContactChannel.WEBHOOK, state.alerting_started_at, "HTTP 503"
    )
    carried = json.loads(json.dumps(state.model_dump(mode="json")))
    assert IncidentState.model_validate(carried) == state


def test_needs_add_up_per_category_and_region_and_keep_their_assignment() -> None:
    state = carried_before_the_state_model()
    state.add_needs(
        [
            NeedReport(category=NeedCategory.LEGAL, region=Region.DRESDEN, count=2),
            NeedReport(category=NeedCategory.FINANCIAL, region=Region.CHEMNITZ, count=1),
            NeedReport(category=NeedCategory.LEGAL, region=Region.CHEMNITZ, count=1),
        ]
    )
    legal = next(n for n in state.needs if n.category is NeedCategory.LEGAL)
    assert (legal.count, legal.assigned_to) == (8, "weisser-ring")
    assert legal.by_region == {Region.DRESDEN: 5, Region.LEIPZIG: 2, Region.CHEMNITZ: 1}
    financial = next(n for n in state.needs if n.category is NeedCategory.FINANCIAL)
    assert (financial.count, financial.assigned_to) == (1, "weisser-ring")


def test_an_assignment_before_any_need_is_shown_after_the_categories_with_people() -> None:
    state = carried_before_the_state_model()
    state.assign(NeedCategory.PRACTICAL, "opferbeauftragte")
    state.assign(NeedCategory.LEGAL, "opferbeauftragte")
    shown = state.status("lage-1").needs
    assert [(n.category, n.count, n.assigned_to) for n in shown] == [
        (NeedCategory.LEGAL, 5, "opferbeauftragte"),
        (NeedCategory.FINANCIAL, 0, "weisser-ring"),
        (NeedCategory.PRACTICAL, 0, "opferbeauftragte"),
    ]


def test_the_status_is_a_copy_that_later_changes_do_not_reach() -> None:
    state = carried_before_the_state_model()
    shown = state.status("lage-1")
    state.track("weisser-ring").delivered_steps.append(EscalationStep.COMMISSIONER)
    assert shown.partners[1].delivered_steps == [EscalationStep.PRIMARY, EscalationStep.DEPUTY]


def test_a_failing_step_keeps_the_time_of_its_first_failure_until_it_arrives() -> None:
    track = carried_before_the_state_model().track("opferbeauftragte")
    first = datetime.fromisoformat("2026-12-05T20:00:00+01:00")
    track.state = AlertState.UNDELIVERABLE
    track.delivery_failed(EscalationStep.PRIMARY, ContactChannel.EMAIL, first, "relay down")
    track.delivery_failed(
        EscalationStep.PRIMARY, ContactChannel.EMAIL, first + timedelta(minutes=5), "still down"
    )
    trouble = track.trouble_at(EscalationStep.PRIMARY)
    assert trouble is not None
    assert (trouble.since, trouble.detail) == (first, "still down")
    track.delivered(EscalationStep.PRIMARY, first + timedelta(minutes=9))
    assert track.delivery_trouble == []
    assert track.state is AlertState.PENDING  # back on its ladder once a message arrived


def test_a_deadline_never_moves_earlier() -> None:
    track = carried_before_the_state_model().track("weisser-ring")
    assert track.deadline_at is not None
    before = track.deadline_at
    track.extend_deadline(before - timedelta(minutes=1))
    assert track.deadline_at == before
    track.extend_deadline(before + timedelta(minutes=1))
    assert track.deadline_at == before + timedelta(minutes=1)


def test_an_acknowledgement_the_record_refused_is_taken_back_in_place() -> None:
    state = carried_before_the_state_model()
    track = state.track("opferbeauftragte")
    track.state = AlertState.ESCALATED
    before = track.model_copy(deep=True)
    at = state.alerting_started_at
    track.acknowledge(at, at, late=True, seconds=99.0)
    track.reset_to(before)
    assert state.track("opferbeauftragte") is track  # the ladder still holds this object
    assert track == before


def test_only_the_newest_update_ids_are_kept() -> None:
    state = carried_before_the_state_model()
    for number in range(REMEMBERED_UPDATES + 3):
        state.remember_update(f"update-{number}")
    assert len(state.applied_update_ids) == REMEMBERED_UPDATES
    assert state.has_applied(f"update-{REMEMBERED_UPDATES + 2}")
    assert not state.has_applied("update-2")


def test_a_pending_track_starts_on_the_primary_contact() -> None:
    state = carried_before_the_state_model()
    track = AlertTrack.pending(state.procedure("weisser-ring"))
    assert (track.state, track.step, track.settled) == (
        AlertState.PENDING,
        EscalationStep.PRIMARY,
        False,
    )
