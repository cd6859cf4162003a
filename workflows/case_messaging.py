"""The messages of one case: to a support offer (a referral, a withdrawal) and to the
Commissioner's office (reminders, escalations, follow-ups).

Each message has one id, the same on every retry (`<case>/<key>`), so a recipient never gets
two different messages for one step. It is delivered in rounds, Temporal retrying within the
delivery policy; a round that fails is tried again after a pause that doubles up to ten
minutes, for as long as the message is needed. A relay outage is not a service's silence:
a referral counts as sent only once it arrived.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from contextlib import suppress
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from contracts.case_activities import DELIVER_CASE_MESSAGE
    from contracts.case_messages import CaseMessagePurpose, DeliverCaseMessageInput
    from contracts.vocabulary import NeedCategory
    from workflows import record
    from workflows.case_state import CaseReferral, CaseState

DELIVERY_TIMEOUT = timedelta(seconds=30)
MAX_REDELIVERY_PAUSE = timedelta(minutes=10)
"""The longest pause between two delivery rounds of a failing message (as for alerts)."""


class CaseMessaging:
    """Builds and delivers a case's messages; runs them in the background and knows when
    they have all arrived."""

    def __init__(self, state: CaseState, show: Callable[[], None]) -> None:
        self._state = state
        self._show = show
        self._background: list[asyncio.Task[None]] = []

    def message(
        self, purpose: CaseMessagePurpose, key: str, **fields: Any
    ) -> DeliverCaseMessageInput:
        state = self._state
        return DeliverCaseMessageInput(
            incident_id=state.registration.incident_id,
            person_ref=state.person_ref,
            purpose=purpose,
            message_id=f"{workflow.info().workflow_id}/{key}",
            sent_at=workflow.now(),
            **fields,
        )

    def tell_office(
        self,
        purpose: CaseMessagePurpose,
        key: str,
        category: NeedCategory | None,
        detail: str = "",
    ) -> None:
        self._send(self.message(purpose, key, category=category, detail=detail))

    def tell_offer(self, referral: CaseReferral) -> None:
        """The referral has ended: the offer shares nothing more and deletes what it got."""
        self._send(
            self.message(
                CaseMessagePurpose.WITHDRAWN,
                f"{referral.referral_id}/withdrawn",
                category=referral.category,
                referral_id=referral.referral_id,
                target=referral.target,
            )
        )

    def in_background(self, work: Coroutine[Any, Any, None]) -> None:
        self._background.append(asyncio.create_task(work))

    async def settled(self) -> None:
        """Once every message on its way has arrived (or is no longer needed)."""
        await asyncio.gather(*self._background)

    async def until_arrived(
        self,
        message: DeliverCaseMessageInput,
        no_longer_needed: Callable[[], bool],
        referral: CaseReferral | None,
    ) -> bool:
        """Deliver `message` in rounds until it arrives; whether it arrived (False: it was no
        longer needed). A referral that does not arrive shows its delivery trouble."""
        pause = self._state.delivery.maximum_interval
        while not no_longer_needed():
            if await self._deliver(message):
                return True
            if referral is not None and referral.delivery_trouble_since is None:
                referral.delivery_trouble_since = workflow.now()
                self._show()
            with suppress(TimeoutError):
                await workflow.wait_condition(
                    no_longer_needed, timeout=pause, timeout_summary="redelivery pause"
                )
            pause = min(pause * 2, MAX_REDELIVERY_PAUSE)
        return False

    def _send(self, message: DeliverCaseMessageInput) -> None:
        self.in_background(self._until_delivered(message))

    async def _until_delivered(self, message: DeliverCaseMessageInput) -> None:
        await self.until_arrived(message, lambda: False, None)

    async def _deliver(self, message: DeliverCaseMessageInput) -> bool:
        delivery = self._state.delivery
        try:
            await workflow.execute_activity(
                DELIVER_CASE_MESSAGE.name,
                message,
                result_type=DELIVER_CASE_MESSAGE.result_type,
                summary=str(message.purpose),
                start_to_close_timeout=DELIVERY_TIMEOUT,
                retry_policy=RetryPolicy(
                    initial_interval=delivery.initial_interval,
                    maximum_interval=delivery.maximum_interval,
                    maximum_attempts=delivery.max_attempts,
                ),
            )
        except ActivityError as error:
            # A damaged record (the person's, say) fails delivery like an outage: shown, and
            # tried again at the same bounded pace, so a repaired record lets it arrive.
            if record.damaged(error.cause):
                self._state.note_damage(error.cause.message)
                self._show()
            return False
        return True
