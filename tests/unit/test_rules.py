"""One rule, one place: the workflow and the record allow the same actions in the same phases,
and refuse the rest and foreign remits in the same words.

The domain is driven through LotseApplication on the in-memory store; the workflow's own phase
guard is called on a stand-in holding only its phase (no Temporal needed), and its remit guard
is the pure function it calls.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from contracts.agreement import AgreementTerms
from contracts.messages import CommandContext, NeedReport
from contracts.rules import ACTION_WORDS, ALLOWED_PHASES, Action, phase_problem, remit_problem
from contracts.vocabulary import FINAL_PHASES, NeedCategory, Phase, Region
from domain.application import LotseApplication
from domain.errors import OutsideRemitError, PhaseNotAllowedError
from tests.unit.test_domain import DECLARED_AT, INCIDENT, acknowledge_all, declaration
from workflows.checks import UpdateRefusedError, check_phase

MakeCtx = Callable[..., CommandContext]

DOMAIN_STEPS: dict[Action, Callable[[LotseApplication, str, CommandContext], object]] = {
    Action.ACKNOWLEDGE: lambda app, key, ctx: app.acknowledge_alert(
        key, "weisser-ring", False, 60.0, ctx
    ),
    Action.REPORT_NEEDS: lambda app, key, ctx: app.report_needs(
        key, [NeedReport(category=NeedCategory.LEGAL, region=Region.DRESDEN, count=2)], ctx
    ),
    Action.ASSIGN: lambda app, key, ctx: app.assign_need_category(
        key, NeedCategory.LEGAL, "weisser-ring", ctx
    ),
    Action.CLOSE_ACUTE: lambda app, key, ctx: app.close_acute_phase(
        key, None, DECLARED_AT + timedelta(weeks=6), ctx
    ),
    Action.MARK_REFLECTION_DUE: lambda app, key, ctx: app.mark_reflection_due(key, ctx),
    Action.RECORD_REFLECTION: lambda app, key, ctx: app.record_reflection(
        key, ["Alarmierung dauerte zu lange"], [], ctx
    ),
    Action.CALL_OFF: lambda app, key, ctx: app.call_off(key, "Fehlalarm", ctx),
}


def incident_in(
    phase: Phase, agreement_terms: AgreementTerms, make_ctx: MakeCtx
) -> tuple[LotseApplication, str]:
    """A fresh record whose incident stands in `phase`, reached by the procedure's own steps."""
    app = LotseApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.load_agreement(agreement_terms, make_ctx())
    app.declare_incident(
        INCIDENT, declaration(), agreement_terms.agreement_id, make_ctx(DECLARED_AT)
    )
    if phase is Phase.CALLED_OFF:
        app.call_off(INCIDENT, "Fehlalarm", make_ctx())
    elif phase is not Phase.ALERTING:
        acknowledge_all(app, INCIDENT, make_ctx)
        path = [Action.CLOSE_ACUTE, Action.MARK_REFLECTION_DUE, Action.RECORD_REFLECTION]
        steps = {
            Phase.COORDINATING: 0,
            Phase.AWAITING_REFLECTION: 1,
            Phase.REFLECTION_DUE: 2,
            Phase.CLOSED: 3,
        }[phase]
        for action in path[:steps]:
            DOMAIN_STEPS[action](app, INCIDENT, make_ctx())
    assert app.incident(INCIDENT).phase == phase
    return app, INCIDENT


def workflow_refusal(action: Action, phase: Phase) -> str | None:
    """What the workflow's own phase guard says (a pure function of the phase)."""
    try:
        check_phase(phase, action)
    except UpdateRefusedError as refusal:
        return str(refusal)
    return None


def test_the_table_names_the_phases_and_the_words_of_every_action() -> None:
    assert set(ALLOWED_PHASES) == set(Action)
    assert set(ACTION_WORDS) == set(Action)
    assert all(ALLOWED_PHASES[action] for action in Action), "an action no phase allows"


def test_the_table_says_what_the_operators_handbook_says() -> None:
    # README's update table and docs/procedure.md, written out here so that a changed table
    # is a decision someone makes on purpose, not a slip.
    assert dict(ALLOWED_PHASES) == {
        Action.ACKNOWLEDGE: {
            Phase.ALERTING,
            Phase.COORDINATING,
            Phase.AWAITING_REFLECTION,
            Phase.REFLECTION_DUE,
        },
        Action.REPORT_NEEDS: {Phase.ALERTING, Phase.COORDINATING},
        Action.ASSIGN: {Phase.ALERTING, Phase.COORDINATING},
        Action.CLOSE_ACUTE: {Phase.COORDINATING},
        Action.MARK_REFLECTION_DUE: {Phase.AWAITING_REFLECTION},
        Action.RECORD_REFLECTION: {Phase.AWAITING_REFLECTION, Phase.REFLECTION_DUE},
        Action.CALL_OFF: set(Phase) - FINAL_PHASES,
    }


@pytest.mark.parametrize("phase", list(Phase))
@pytest.mark.parametrize("action", list(Action))
def test_workflow_and_record_refuse_the_same_action_in_the_same_phase_in_the_same_words(
    action: Action, phase: Phase, agreement_terms: AgreementTerms, make_ctx: MakeCtx
) -> None:
    app, key = incident_in(phase, agreement_terms, make_ctx)
    expected = phase_problem(action, phase)

    try:
        DOMAIN_STEPS[action](app, key, make_ctx())
        domain_refusal = None
    except PhaseNotAllowedError as refusal:
        domain_refusal = str(refusal)

    assert workflow_refusal(action, phase) == domain_refusal == expected
    assert (expected is None) == (phase in ALLOWED_PHASES[action])


def test_a_refusal_names_the_action_the_phase_in_german_and_where_it_is_allowed() -> None:
    assert phase_problem(Action.REPORT_NEEDS, Phase.CLOSED) == (
        "cannot report needs in phase 'closed' (abgeschlossen); allowed in: alerting, coordinating"
    )


def test_workflow_and_record_refuse_a_category_outside_the_remit_in_the_same_words(
    agreement_terms: AgreementTerms, make_ctx: MakeCtx
) -> None:
    app, key = incident_in(Phase.COORDINATING, agreement_terms, make_ctx)
    raa = next(p for p in agreement_terms.partners if p.id == "raa-sachsen")

    with pytest.raises(OutsideRemitError) as refused:
        app.assign_need_category(key, NeedCategory.FINANCIAL, "raa-sachsen", make_ctx())

    workflow_words = remit_problem(NeedCategory.FINANCIAL, "raa-sachsen", raa.remit.categories)
    assert (
        str(refused.value)
        == workflow_words
        == (
            "'financial' is outside the remit of 'raa-sachsen' (covers: psychosocial, legal, "
            "language-culture-religion, safety-media, information); "
            "the agreement creates no new responsibilities"
        )
    )


def test_a_category_inside_the_remit_is_no_problem() -> None:
    assert remit_problem(NeedCategory.LEGAL, "weisser-ring", [NeedCategory.LEGAL]) is None
