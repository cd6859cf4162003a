"""A small test incident for the reflection report, built through the application (real SQLite),
and the moment its figures are taken. Every value the tests expect follows from the steps here;
the comments say which.

T0 is 2026-11-14 21:00 UTC (22:00 in Berlin). The agreement is the shipped one: the office has a
30-minute acknowledgement deadline, the three other partners 60 minutes.

Alerts: the office acknowledges after 12 min, Opferhilfe Sachsen after 45 min (both in time);
WEISSER RING is escalated twice (deputy, office) and acknowledges after 90 min (late); RAA
Sachsen's first message fails, it is escalated once and acknowledges after 75 min (late).

People (registered by Opferhilfe Sachsen, consent for WEISSER RING):
- DD-0001 at T0+1h: need at T0+1h, referral sent T0+3h (answer due T0+2d+3h), acknowledged T0+1d
  (in time), first contact T0+25h (24 h after registration); follow-up 1 recorded, need met.
- DD-0002 at T0+2h: need at T0+2h, referral sent T0+4h (due T0+28h), acknowledged T0+2d (late),
  first contact T0+3d+2h (72 h after registration); in care, so the need stays open.
- DD-0003 at T0+3h: need at T0+3h, referral sent T0+20h (due T0+2d+20h), consent withdrawn at
  T0+1d, which withdraws the referral before it was due (awaiting, not counted as due).
- DD-0004 at T0+4h: need at T0+4h, referral sent T0+5h (due T0+29h), never answered (overdue);
  a second need (legal) assessed at T0+40d.
- DD-0005 at T0+5h: closed as a duplicate — not counted anywhere.
- DD-0006 at T0+6h: erased — counted as registered, not contacted.

Roll: one listing linked (same keys from two lists), three likely pairs: one confirmed, one
rejected, one pending.

Figures at AS_OF = T0+45d: follow-up 1 (4 weeks + 14 days to answer = 42 days) is overdue for the
open cases DD-0002, DD-0003, DD-0004; DD-0001 answered it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from contracts.agreement import load_agreement_file
from contracts.case_rules import ReferralAction
from contracts.people import AssessedNeed, CaseCloseReason, RegistrationSource
from contracts.vocabulary import ContactChannel, EscalationStep, NeedCategory, NotificationPurpose
from domain.application import LotseApplication
from domain.incident import NotificationOutcome
from domain.reflection import ReflectionFigures, read_record, reflection_figures
from domain.roll import Listing
from settings import Settings
from tests.integration.test_people_store import INCIDENT, declaration
from tests.people_support import DAY, HOUR, T0, TARGET, consent, ctx, registration

AGREEMENT = Path(__file__).resolve().parent.parent / "agreements" / "saxony.toml"
AS_OF = T0 + 45 * DAY
MINUTE = timedelta(minutes=1)
FINDINGS = ["Die Erreichbarkeit am Wochenende war unklar"]
MEASURES = ["Vertretungsregel für Wochenenden in die Vereinbarung aufnehmen"]


def build_test_incident(data_dir: Path) -> Settings:
    """Record the test incident in a SQLite store in `data_dir` (made if missing); its
    settings."""
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(store="sqlite", data_dir=data_dir, sqlite_path=None)
    app = LotseApplication(env=settings.event_store_env())
    try:
        terms = load_agreement_file(AGREEMENT)
        app.load_agreement(terms, ctx())
        app.declare_incident(INCIDENT, declaration(), terms.agreement_id, ctx())
        _alert(app)
        _people(app)
        _roll(app)
        app.close_acute_phase(INCIDENT, None, T0 + 44 * DAY, ctx(T0 + 14 * DAY))
        app.mark_reflection_due(INCIDENT, ctx(T0 + 44 * DAY))
        app.record_reflection(INCIDENT, FINDINGS, MEASURES, ctx(T0 + 44 * DAY + HOUR))
    finally:
        app.close()
    return settings


def _notify(app: LotseApplication, partner: str, step: EscalationStep, delivered: bool) -> None:
    primary = step is EscalationStep.PRIMARY
    outcome = NotificationOutcome(
        partner_id=partner,
        purpose=NotificationPurpose.ALERT if primary else NotificationPurpose.ESCALATION,
        step=step,
        message_id=f"{partner}-{step}",
        contact={"channel": ContactChannel.EMAIL, "address": f"{partner}@example.org"},
        delivered=delivered,
        detail="" if delivered else "550 mailbox unavailable",
    )
    app.record_notification(INCIDENT, outcome, ctx())


def _ack(app: LotseApplication, partner: str, minutes: int, late: bool) -> None:
    app.acknowledge_alert(INCIDENT, partner, late, minutes * 60.0, ctx(T0 + minutes * MINUTE))


def _alert(app: LotseApplication) -> None:
    for partner in ("opferbeauftragte", "opferhilfe-sachsen", "weisser-ring"):
        _notify(app, partner, EscalationStep.PRIMARY, delivered=True)
    _notify(app, "raa-sachsen", EscalationStep.PRIMARY, delivered=False)
    _ack(app, "opferbeauftragte", 12, late=False)
    _ack(app, "opferhilfe-sachsen", 45, late=False)
    app.escalate_alert(INCIDENT, "raa-sachsen", EscalationStep.DEPUTY, ctx())
    _notify(app, "raa-sachsen", EscalationStep.DEPUTY, delivered=True)
    for step in (EscalationStep.DEPUTY, EscalationStep.COMMISSIONER):
        app.escalate_alert(INCIDENT, "weisser-ring", step, ctx())
        _notify(app, "weisser-ring", step, delivered=True)
    _ack(app, "raa-sachsen", 75, late=True)
    _ack(app, "weisser-ring", 90, late=True)


def _register(app: LotseApplication, ref: str, at_hours: int, need: bool = True) -> None:
    at = T0 + at_hours * HOUR
    app.register_person(INCIDENT, registration(ref), ctx(at))
    app.give_consent(INCIDENT, ref, consent(given_at=at), ctx(at))
    if need:
        needs = [AssessedNeed(category=NeedCategory.PSYCHOSOCIAL)]
        app.assess_needs(INCIDENT, ref, needs, at + DAY, ctx(at))


def _send(app: LotseApplication, ref: str, hours: int, answer_within: timedelta) -> None:
    at = T0 + hours * HOUR
    category = NeedCategory.PSYCHOSOCIAL
    app.propose_referral(INCIDENT, ref, "r1", category, TARGET, "Gespräch gewünscht", ctx(at))
    _step(app, ref, ReferralAction.SEND, at, at + answer_within)


def _step(
    app: LotseApplication,
    ref: str,
    action: ReferralAction,
    at: datetime,
    due_at: datetime | None = None,
) -> None:
    """One step of the person's referral r1 at `at`; the next step due a week later unless
    `due_at` says otherwise."""
    due = due_at or at + 7 * DAY
    app.advance_referral(INCIDENT, ref, "r1", action, ctx(at), due_at=due, at=at)


def _people(app: LotseApplication) -> None:
    _register(app, "DD-0001", 1)
    _send(app, "DD-0001", 3, 2 * DAY)
    _step(app, "DD-0001", ReferralAction.ACKNOWLEDGE, T0 + DAY)
    _step(app, "DD-0001", ReferralAction.ACCEPT, T0 + DAY)
    _step(app, "DD-0001", ReferralAction.FIRST_CONTACT, T0 + 25 * HOUR)
    psychosocial = [NeedCategory.PSYCHOSOCIAL]
    app.record_follow_up(INCIDENT, "DD-0001", 1, psychosocial, [], ctx(T0 + 30 * DAY))

    _register(app, "DD-0002", 2)
    _send(app, "DD-0002", 4, DAY)
    _step(app, "DD-0002", ReferralAction.ACKNOWLEDGE, T0 + 2 * DAY)
    _step(app, "DD-0002", ReferralAction.ACCEPT, T0 + 2 * DAY)
    _step(app, "DD-0002", ReferralAction.FIRST_CONTACT, T0 + 3 * DAY + 2 * HOUR)

    _register(app, "DD-0003", 3)
    _send(app, "DD-0003", 20, 2 * DAY)
    app.withdraw_consent(INCIDENT, "DD-0003", TARGET.provider_id, ctx(T0 + DAY))

    _register(app, "DD-0004", 4)
    _send(app, "DD-0004", 5, DAY)
    legal = [AssessedNeed(category=NeedCategory.LEGAL)]
    app.assess_needs(INCIDENT, "DD-0004", legal, T0 + 41 * DAY, ctx(T0 + 40 * DAY))

    _register(app, "DD-0005", 5, need=False)
    app.close_case(INCIDENT, "DD-0005", CaseCloseReason.DUPLICATE, ctx(T0 + 6 * HOUR))

    _register(app, "DD-0006", 6, need=False)
    app.erase_person(INCIDENT, "DD-0006", ctx(T0 + 7 * HOUR))


def _listing(source: RegistrationSource, exact: str, sound: str, row: int) -> Listing:
    return Listing(source=source, exact=exact, sound=sound, born_known=True, row=row)


def _roll(app: LotseApplication) -> None:
    police, red_cross = RegistrationSource.POLICE_LIST, RegistrationSource.RED_CROSS
    first = [_listing(police, f"exact-{n}", f"sound-{n}", n) for n in (1, 2, 3, 4)]
    app.place_listings(INCIDENT, first, ctx())
    second = [
        _listing(red_cross, "exact-1", "sound-1", 1),  # the same person: linked
        _listing(red_cross, "exact-2b", "sound-2", 2),  # sounds alike: likely pair 1
        _listing(red_cross, "exact-3b", "sound-3", 3),  # likely pair 2
        _listing(red_cross, "exact-4b", "sound-4", 4),  # likely pair 3
    ]
    app.place_listings(INCIDENT, second, ctx())
    app.settle_duplicate(INCIDENT, 1, True, ctx())
    app.settle_duplicate(INCIDENT, 2, False, ctx())


def figures_of_test_incident(data_dir: Path) -> ReflectionFigures:
    """The test incident recorded in `data_dir`, and its figures at AS_OF."""
    app = LotseApplication(env=build_test_incident(data_dir).event_store_env())
    try:
        return reflection_figures(read_record(app, INCIDENT), AS_OF)
    finally:
        app.close()
