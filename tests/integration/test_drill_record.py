"""A test alert's record on the real stores (SQLite and PostgreSQL): every contact point of the
agreement, each sending and answer with how fast, and who did not answer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from contracts.agreement import AgreementTerms
from contracts.messages import CommandContext
from domain import ids
from domain.application import LotseApplication
from domain.errors import DrillRefusedError
from settings import Settings
from tests.workflow.support import PARTNERS

MakeCtx = Callable[..., CommandContext]
DRILL = "testalarm-2026-11-30"
STARTED = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
def apps(store_settings: Settings) -> Iterator[Callable[[], LotseApplication]]:
    opened: list[LotseApplication] = []

    def open_one() -> LotseApplication:
        opened.append(LotseApplication(env=store_settings.event_store_env()))
        return opened[-1]

    yield open_one
    for app in opened:
        app.close()


@pytest.fixture
def app(
    apps: Callable[[], LotseApplication], agreement_terms: AgreementTerms, make_ctx: MakeCtx
) -> LotseApplication:
    first = apps()
    first.load_agreement(agreement_terms, make_ctx())
    first.start_drill(DRILL, agreement_terms.agreement_id, 3600.0, make_ctx(STARTED))
    return first


def events(app: LotseApplication) -> list[str]:
    return [type(e).__name__ for e in app.events.get(ids.drill_id(DRILL))]


def test_a_drill_reaches_the_primary_and_deputy_contact_of_every_partner(
    app: LotseApplication,
) -> None:
    drill = app.drill(DRILL)

    assert list(drill.points) == [f"{p}/{step}" for p in PARTNERS for step in ("primary", "deputy")]
    assert drill.started_at == STARTED


def test_an_answer_is_recorded_once_with_the_time_since_its_message_arrived(
    app: LotseApplication, apps: Callable[[], LotseApplication], make_ctx: MakeCtx
) -> None:
    point = "weisser-ring/primary"
    app.record_drill_sending(DRILL, point, True, "", make_ctx(STARTED + timedelta(seconds=5)))
    answer = make_ctx(STARTED + timedelta(seconds=95))

    app.answer_drill(DRILL, point, answer)
    app.answer_drill(DRILL, point, answer)  # the same command again
    app.answer_drill(DRILL, point, make_ctx(STARTED + timedelta(hours=1)))  # answered again

    result = apps().drill(DRILL).points[point]
    assert (result.seconds_to_answer, result.answered_by) == (90.0, "opferbeauftragte/lagedienst-1")
    assert events(app) == ["DrillStarted", "TestAlertSent", "TestAlertAnswered"]
    sent = app.events.get(ids.drill_id(DRILL), gt=1, lte=2)
    assert next(iter(sent)).__dict__["contact"] == "landesbuero@weisser-ring.example.org"


def test_points_without_an_answer_are_recorded_as_not_answering_once(
    app: LotseApplication, apps: Callable[[], LotseApplication], make_ctx: MakeCtx
) -> None:
    app.answer_drill(DRILL, "raa-sachsen/deputy", make_ctx(STARTED + timedelta(minutes=3)))

    for point in list(app.drill(DRILL).points):
        app.mark_drill_not_answering(DRILL, point, make_ctx())
        app.mark_drill_not_answering(DRILL, point, make_ctx())
    app.finish_drill(DRILL, make_ctx())

    drill = apps().drill(DRILL)
    silent = [point for point, result in drill.points.items() if result.not_answering]
    assert len(silent) == 7
    assert "raa-sachsen/deputy" not in silent
    assert drill.points["raa-sachsen/deputy"].seconds_to_answer == 180.0
    assert events(app).count("ContactPointNotAnswering") == 7
    with pytest.raises(DrillRefusedError, match="has ended; an answer now is too late"):
        app.answer_drill(DRILL, "weisser-ring/primary", make_ctx())


def test_an_unknown_contact_point_is_refused_by_name(
    app: LotseApplication, make_ctx: MakeCtx
) -> None:
    with pytest.raises(DrillRefusedError, match="'weisser-ring/pager' is not a contact point"):
        app.answer_drill(DRILL, "weisser-ring/pager", make_ctx())
    assert events(app) == ["DrillStarted"]
