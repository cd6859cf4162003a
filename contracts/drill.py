"""Messages of the test alert (`AlertDrill` workflow) and the rules an answer must meet.

The refusals live here, once: the workflow's update validator and the record (domain/drill.py)
both call `point_problem` / `too_late`, so the UI, the command line and the record refuse an
answer with the same words. A contact point is named `partner/step` (`weisser-ring/deputy`).
"""

from __future__ import annotations

import re
from datetime import timedelta

from pydantic import AwareDatetime, ConfigDict, Field

from contracts.messages import CommandContext, DeliveryPolicy, Internal, Message, OperatorAction

DRILL_WORKFLOW_TYPE = "AlertDrill"
ACKNOWLEDGE_DRILL_UPDATE = "acknowledge"
DRILL_KEY = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
"""A drill's key: `test-` and the Berlin minute it was started (`test-20261130-0900`)."""
POINT = re.compile(r"[a-z0-9][a-z0-9-]{0,63}/(primary|deputy)")


def drill_workflow_id(drill_key: str) -> str:
    """The workflow id of a drill: one per key."""
    return f"drill-{drill_key}"


def point_problem(drill_key: str, point: str, points: list[str]) -> str | None:
    """Why `point` cannot answer drill `drill_key` (reaching `points`); None if it can."""
    if point in points:
        return None
    return f"'{point}' is not a contact point of drill '{drill_key}' ({', '.join(points)})"


def too_late(drill_key: str) -> str:
    """The refusal of an answer that arrives after the drill's wait ran out."""
    return f"drill '{drill_key}' has ended; an answer now is too late to count"


class DrillInput(Message):
    """What `lotse drill test-alert` starts a drill with: its key and the agreement whose
    contact points are tested (the version in force when the drill is recorded)."""

    drill_key: str = Field(pattern=DRILL_KEY.pattern)
    agreement_key: str


class AcknowledgeDrill(OperatorAction):
    """A contact point answered its test message; an operator may record it (by phone)."""

    point: str = Field(description="The contact point that answered: partner/step.")


class DrillAnswer(Message):
    """What recording an answer did: how fast the point answered (from its message's arrival);
    `duplicate` when it had answered before (the first answer counts)."""

    point: str
    seconds_to_answer: float
    duplicate: bool = False


class DrillRecorded(Internal):
    """The drill as recorded, with the worker's settings for this run."""

    points: list[str]
    wait: timedelta
    delivery: DeliveryPolicy


class StartDrillInput(Internal):
    ctx: CommandContext
    drill_key: str
    agreement_key: str


class DeliverTestAlertInput(Internal):
    drill_key: str
    point: str
    message_id: str
    sent_at: AwareDatetime


class RecordTestAlertInput(Internal):
    ctx: CommandContext
    drill_key: str
    point: str
    delivered: bool
    detail: str = ""


class DrillPointInput(Internal):
    """A step on one contact point: its answer, or that it did not answer."""

    ctx: CommandContext
    drill_key: str
    point: str


class TellOfficeInput(Internal):
    """Tell the Commissioner's office which contact points did not answer."""

    drill_key: str
    silent: list[str]
    message_id: str
    sent_at: AwareDatetime


class FinishDrillInput(Internal):
    ctx: CommandContext
    drill_key: str


class PointState(Internal):
    """Where one contact point stands in the run."""

    model_config = ConfigDict(extra="ignore", frozen=False)

    sent: str = Field(default="pending", description="pending, delivered or failed")
    seconds_to_answer: float | None = None
    not_answering: bool = False

    @property
    def settled(self) -> bool:
        """Nothing more to wait for: it answered, or its message never arrived."""
        return self.seconds_to_answer is not None or self.sent == "failed"


class DrillState(Internal):
    """The whole state of a drill's run: what its `status` query shows. Mutable."""

    model_config = ConfigDict(extra="ignore", frozen=False)

    drill_key: str
    agreement_key: str
    stage: str = Field(
        default="recording", description="recording, sending, waiting, closing, done"
    )
    points: dict[str, PointState] = Field(default_factory=dict)
    office_told: bool = False

    @property
    def silent(self) -> list[str]:
        return [p for p, s in self.points.items() if s.seconds_to_answer is None]

    def status(self) -> DrillStatus:
        return DrillStatus(
            drill_key=self.drill_key,
            stage=self.stage,
            points=[PointStatus(point=p, **s.model_dump()) for p, s in self.points.items()],
            office_told=self.office_told,
        )


class PointStatus(Message):
    point: str
    sent: str
    seconds_to_answer: float | None = None
    not_answering: bool = False


class DrillStatus(Message):
    """What the `status` query of a drill answers."""

    drill_key: str
    stage: str
    points: list[PointStatus] = Field(default_factory=list)
    office_told: bool = False


DrillState.model_rebuild()
