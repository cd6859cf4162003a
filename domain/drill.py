"""A test alert ("Testalarm") as an aggregate: which contact points of the agreement were sent a
test message, which answered and how fast, and which did not answer before the drill ended.

A drill is no incident: it is recorded on its own stream, so nothing of it reaches an
incident's history or KPIs. Each command id is applied once; answering twice, or marking an
answered point as not answering, records nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate, event

from contracts.drill import point_problem, too_late
from contracts.messages import CommandContext
from domain import ids
from domain.errors import DrillRefusedError


class PointResult:
    """Where one contact point stands in the drill (rebuilt from events)."""

    def __init__(self) -> None:
        self.delivered_at: datetime | None = None
        self.failures = 0
        self.answered_at: datetime | None = None
        self.seconds_to_answer: float | None = None
        self.answered_by: str | None = None
        self.not_answering = False


class AlertDrill(Aggregate):
    """One test alert to every contact point of one version of the agreement."""

    @staticmethod
    def create_id(drill_key: str) -> Any:
        return ids.drill_id(drill_key)

    @event("DrillStarted")
    def __init__(
        self,
        drill_key: str,
        agreement_key: str,
        agreement_version: int,
        contact_points: list[str],
        wait_seconds: float,
        ctx: CommandContext,
    ) -> None:
        self.drill_key = drill_key
        self.agreement_key = agreement_key
        self.agreement_version = agreement_version
        self.started_at = ctx.business_time
        self.wait_seconds = wait_seconds
        self.points = {point: PointResult() for point in contact_points}
        self.finished = False
        self.command_ids = {ctx.command_id}

    # --- commands -------------------------------------------------------------------------

    def has_applied(self, ctx: CommandContext) -> bool:
        return ctx.command_id in self.command_ids

    def record_sending(
        self,
        point: str,
        delivered: bool,
        channel: str,
        contact: str,
        detail: str,
        ctx: CommandContext,
    ) -> None:
        """A test message arrived at `point` (`delivered`), or its delivery finally failed."""
        self._check_point(point)
        self._test_alert_sent(
            point=point,
            delivered=delivered,
            channel=channel,
            contact=contact,
            detail=detail,
            ctx=ctx,
        )

    def answer(self, point: str, ctx: CommandContext) -> None:
        """The contact point answered; the time to answer counts from the message's arrival
        (from the start, if none arrived: an answer by phone). A repeat records nothing."""
        self._check_point(point)
        self._check_running()
        result = self.points[point]
        if result.answered_at is not None:
            return
        since = result.delivered_at or self.started_at
        seconds = max((ctx.business_time - since).total_seconds(), 0.0)
        self._test_alert_answered(point=point, seconds_to_answer=seconds, ctx=ctx)

    def mark_not_answering(self, point: str, ctx: CommandContext) -> None:
        """The drill's wait ran out without an answer from `point`; an answered one stays so."""
        self._check_point(point)
        if self.points[point].answered_at is None and not self.points[point].not_answering:
            self._contact_point_not_answering(point=point, ctx=ctx)

    def finish(self, ctx: CommandContext) -> None:
        if not self.finished:
            self._drill_finished(ctx=ctx)

    # --- guards ---------------------------------------------------------------------------

    def _check_point(self, point: str) -> None:
        if problem := point_problem(self.drill_key, point, list(self.points)):
            raise DrillRefusedError(problem)

    def _check_running(self) -> None:
        if self.finished:
            raise DrillRefusedError(too_late(self.drill_key))

    # --- events ---------------------------------------------------------------------------

    @event("TestAlertSent")
    def _test_alert_sent(
        self,
        point: str,
        delivered: bool,
        channel: str,
        contact: str,
        detail: str,
        ctx: CommandContext,
    ) -> None:
        result = self.points[point]
        if delivered:
            result.delivered_at = ctx.business_time
        else:
            result.failures += 1
        self.command_ids.add(ctx.command_id)

    @event("TestAlertAnswered")
    def _test_alert_answered(
        self, point: str, seconds_to_answer: float, ctx: CommandContext
    ) -> None:
        result = self.points[point]
        result.answered_at = ctx.business_time
        result.seconds_to_answer = seconds_to_answer
        result.answered_by = f"{ctx.actor.partner_id}/{ctx.actor.staff_ref}"
        self.command_ids.add(ctx.command_id)

    @event("ContactPointNotAnswering")
    def _contact_point_not_answering(self, point: str, ctx: CommandContext) -> None:
        self.points[point].not_answering = True
        self.command_ids.add(ctx.command_id)

    @event("DrillFinished")
    def _drill_finished(self, ctx: CommandContext) -> None:
        self.finished = True
        self.command_ids.add(ctx.command_id)
