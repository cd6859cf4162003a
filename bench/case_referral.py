"""Time from a person's registration to the referral sent (issue #7), beside one bare workflow
round trip and a bare workflow of the case's shape, all on the same dev server in the same run.

One incident is declared and recorded first. Then, one person after another: `VictimCase` is
started with the registration (injured, Dresden, via the hotline), the person's consent is given
(Opferhilfe Sachsen: needs, name, phone; oral), a psychosocial need is assessed, and the clock
stops when the referral R1 counts as sent. "Sent" is read from the record, as an outside reader
would: the notification log is polled every 2 ms for this person's `ReferralSent` (one indexed
`SELECT` of that topic past the last id seen, nothing decoded; neither the worker nor the dev
server is asked). With `--poll query` the case's `status` query is polled instead, until it
shows R1 `sent`; each poll is then a round trip through the dev server to the worker. Either
way, once the clock has stopped one `status` query checks that R1 is `sent` to `ohs-dresden`.
Each case is then closed (help declined: the referral is withdrawn, its place given back) and
its end awaited, so that nothing of one person runs into the next one's measurement.

The floors, timed the same way one after another on the bare worker:

- the bare round trip (`BenchBareRoundTrip`: start, one no-op activity, result) — the figure
  the issue's closing note puts beside the case;
- the bare case shape (`BenchBareCaseShape`): start, the two updates, then the same local and
  ordinary no-op activities that `VictimCase` runs up to "sent", its result as "sent".

Figures (the median of `--people` per run, then of the runs; the ratio is the median of the
runs' ratios): registration → R1 sent, the two updates included, against both floors; and the
needs assessment update answered → R1 sent, against the bare shape's `assess` answered →
result. The issue sets no goal.

    .venv/bin/python -m bench.case_referral [--people 20] [--runs 3] [--poll record|query]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from eventsourcing.utils import get_topic
from temporalio.client import WorkflowHandle

from bench.common import Figure, at_least, median, print_figures
from bench.declaration_to_last_alert import bare_round_trips
from bench.stack import Stack, temporal_stack, until
from contracts.case_messages import CaseStatus
from contracts.vocabulary import VICTIM_CASE_WORKFLOW_TYPE, case_workflow_id
from domain.errors import NotFoundError
from domain.ids import person_id
from domain.person import AffectedPerson

Poll = Literal["record", "query"]
PAUSE = 0.002  # between two polls, as the declaration benchmark polls the record
OFFICE = {"partner_id": "opferbeauftragte", "staff_ref": "lagedienst-1"}
HOTLINE = {"partner_id": "opferhilfe-sachsen", "staff_ref": "hotline-3"}
CONSENT = {
    "actor": OFFICE,
    "recipient": "opferhilfe-sachsen",
    "data_categories": ["needs", "name", "phone"],
    "method": "oral",
}
ASSESSMENT = {"actor": OFFICE, "needs": [{"category": "psychosocial"}]}
CLOSE = {"actor": OFFICE, "reason": "help-declined"}
EXPECTED_OFFER = "ohs-dresden"  # the shipped directory's offer for psychosocial help in Dresden
REFERRAL_SENT_TOPIC = get_topic(AffectedPerson.ReferralSent)  # type: ignore[attr-defined]  # made by @event
SHAPE = "bare case shape (start, 2 updates, 5 local and 2 ordinary no-op activities, result)"


def registration(incident_id: str, person_ref: str) -> dict[str, Any]:
    """A `RegisterPerson` as the hotline enters it; the deadlines are the defaults."""
    return {
        "incident_id": incident_id,
        "person_ref": person_ref,
        "involvement": "injured",
        "source": "hotline",
        "region": "dresden",
        "language": "de",
        "registered_by": HOTLINE,
    }


class SentReferrals:
    """Whether the record holds a `ReferralSent` of one person, reading only the notifications
    of that topic written since this reader was made."""

    def __init__(self, stack: Stack, incident_id: str, person_ref: str) -> None:
        self._recorder = stack.reader.recorder
        self._person = person_id(incident_id, person_ref)
        self._next = (self._recorder.max_notification_id() or 0) + 1

    async def seen(self) -> bool:
        batch = self._recorder.select_notifications(self._next, 100, topics=[REFERRAL_SENT_TOPIC])
        if batch:
            self._next = batch[-1].id + 1
        return any(notification.originator_id == self._person for notification in batch)


async def case_status(handle: WorkflowHandle[Any, Any]) -> CaseStatus:
    status: CaseStatus = await handle.query("status", result_type=CaseStatus)
    return status


def r1_sent(status: CaseStatus) -> bool:
    return any(r.referral_id == "R1" and r.status == "sent" for r in status.referrals)


async def declared_incident(stack: Stack) -> str:
    """An incident declared and recorded, to register people for."""
    handle = await stack.declare()

    async def recorded() -> bool:
        try:
            stack.reader.incident(handle.id)
        except NotFoundError:
            return False
        return True

    await until(recorded, "the declaration in the record")
    return handle.id


class People:
    """Registers people for one incident, each with a new reference, and times their cases."""

    def __init__(self, stack: Stack, incident_id: str, poll: Poll) -> None:
        self._stack = stack
        self._incident_id = incident_id
        self._poll = poll
        self._registered = 0

    async def cases(self, count: int) -> list[tuple[float, float]]:
        """(registration → sent, assessed → sent) in seconds, one person after another."""
        return [await self.one() for _ in range(count)]

    async def one(self) -> tuple[float, float]:
        self._registered += 1
        person_ref = f"DD-{self._registered:06d}"
        in_record = self._record_check(person_ref) if self._poll == "record" else None
        started = time.perf_counter()
        handle = await self._stack.client.start_workflow(
            VICTIM_CASE_WORKFLOW_TYPE,
            registration(self._incident_id, person_ref),
            id=case_workflow_id(self._incident_id, person_ref),
            task_queue=self._stack.settings.task_queue,
        )
        sent = in_record or self._query_check(handle)
        await handle.execute_update("give_consent", CONSENT)
        await handle.execute_update("assess_needs", ASSESSMENT)
        assessed = time.perf_counter()
        await until(sent, f"referral R1 of {person_ref} sent", PAUSE)
        done = time.perf_counter()
        status = await case_status(handle)
        referrals = [(r.referral_id, r.offer_id, r.status) for r in status.referrals]
        if referrals != [("R1", EXPECTED_OFFER, "sent")]:
            raise SystemExit(f"{person_ref}: expected R1 sent to {EXPECTED_OFFER}: {referrals}")
        await handle.execute_update("close_case", CLOSE)
        await handle.result()
        return done - started, done - assessed

    def _record_check(self, person_ref: str) -> Callable[[], Awaitable[bool]]:
        return SentReferrals(self._stack, self._incident_id, person_ref).seen

    @staticmethod
    def _query_check(handle: WorkflowHandle[Any, Any]) -> Callable[[], Awaitable[bool]]:
        async def shown() -> bool:
            return r1_sent(await case_status(handle))

        return shown


async def bare_cases(stack: Stack, count: int) -> list[tuple[float, float]]:
    """(start → result, `assess` answered → result) of the bare case shape, one after another."""
    timings = []
    for number in range(count):
        started = time.perf_counter()
        handle: WorkflowHandle[Any, Any] = await stack.client.start_workflow(
            "BenchBareCaseShape", number, id=f"bare-{uuid.uuid4().hex}", task_queue=stack.bare_queue
        )
        await handle.execute_update("consent", number)
        await handle.execute_update("assess", number)
        assessed = time.perf_counter()
        await handle.result()
        done = time.perf_counter()
        timings.append((done - started, done - assessed))
    return timings


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


async def measure_on(stack: Stack, people: int, runs: int, poll: Poll) -> list[Figure]:
    cases = People(stack, await declared_incident(stack), poll)
    await bare_round_trips(stack, 3)  # warm-up: every worker has run each kind once
    await bare_cases(stack, 3)
    await cases.cases(3)
    round_trip: list[float] = []
    shape: list[float] = []
    shape_after: list[float] = []
    lotse: list[float] = []
    lotse_after: list[float] = []
    ratios: dict[str, list[float]] = {"trip": [], "shape": [], "after": []}
    for _ in range(runs):
        round_trip.append(median(await bare_round_trips(stack, people)))
        bare = await bare_cases(stack, people)
        shape.append(median([total for total, _ in bare]))
        shape_after.append(median([after for _, after in bare]))
        measured = await cases.cases(people)
        lotse.append(median([total for total, _ in measured]))
        lotse_after.append(median([after for _, after in measured]))
        ratios["trip"].append(lotse[-1] / round_trip[-1])
        ratios["shape"].append(lotse[-1] / shape[-1])
        ratios["after"].append(lotse_after[-1] / shape_after[-1])
    polled = "status query polled" if poll == "query" else "record polled"
    command = "python -m bench.case_referral" + (" --poll query" if poll == "query" else "")
    name = f"registration → referral sent, consent and needs updates included ({polled})"
    return [
        Figure(
            name=name,
            measured=ms(median(lotse)),
            floor=f"{ms(median(round_trip))} bare round trip (start, one no-op activity, result)",
            ratio=median(ratios["trip"]),
            goal=None,
            met=None,
            command=command,
        ),
        Figure(
            name="… against the same steps as no-ops",
            measured=ms(median(lotse)),
            floor=f"{ms(median(shape))} {SHAPE}",
            ratio=median(ratios["shape"]),
            goal=None,
            met=None,
            command="(same)",
        ),
        Figure(
            name="… needs assessment answered → referral sent",
            measured=ms(median(lotse_after)),
            floor=f"{ms(median(shape_after))} bare shape, `assess` answered → result",
            ratio=median(ratios["after"]),
            goal=None,
            met=None,
            command="(same)",
        ),
    ]


async def measure(people: int, runs: int, poll: Poll = "record") -> list[Figure]:
    async with temporal_stack() as stack:
        return await measure_on(stack, people, runs, poll)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=at_least(1), default=20, help="per run")
    parser.add_argument("--runs", type=at_least(1), default=3)
    parser.add_argument(
        "--poll",
        choices=["record", "query"],
        default="record",
        help="how 'sent' is seen: the record's notification log, or the case's status query",
    )
    arguments = parser.parse_args()
    poll: Poll = "query" if arguments.poll == "query" else "record"
    print(
        f"{arguments.people} people, bare round trips and bare cases per run, "
        f"ratio: median of {arguments.runs} runs"
    )
    print_figures(asyncio.run(measure(arguments.people, arguments.runs, poll)))


if __name__ == "__main__":
    main()
