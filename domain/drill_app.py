"""The application's commands and queries on test alerts (`AlertDrill`): get → command → save,
a command id applied before changing nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from contracts.agreement import ContactPoint
from contracts.messages import CommandContext
from domain import ids
from domain.drill import AlertDrill
from domain.errors import DrillNotFoundError, DrillRefusedError

if TYPE_CHECKING:
    from eventsourcing.application import Repository

    from domain.agreement import Agreement

STEPS = ("primary", "deputy")
"""The contact points of each partner a test alert reaches: the ones a real alert climbs."""


def contact_point(partner_id: str, step: str) -> str:
    """`weisser-ring/deputy`: how the record names one contact point of the agreement."""
    return f"{partner_id}/{step}"


class DrillMixin:
    """Test alerts. Needs the application's repository, agreements, locks and `_run_command`."""

    if TYPE_CHECKING:
        repository: Repository[UUID]

        def _agreement(self, agreement_key: str, version: int | None = None) -> Agreement: ...
        def _incident_lock(self, incident_key: str) -> threading.Lock: ...
        def _run_command(
            self,
            lock: threading.Lock,
            kept: Callable[[], AlertDrill],
            ctx: CommandContext,
            command: Callable[[AlertDrill], None],
        ) -> AlertDrill: ...
        def save(self, *objs: Any, **kwargs: Any) -> Any: ...

    def start_drill(
        self, drill_key: str, agreement_key: str, wait_seconds: float, ctx: CommandContext
    ) -> AlertDrill:
        """Record a test alert to every contact point of the agreement in force now; a repeat
        of the same command returns the first."""
        try:
            existing = self.drill(drill_key)
        except DrillNotFoundError:
            pass
        else:
            if existing.has_applied(ctx):
                return existing
            raise DrillRefusedError(f"drill id '{drill_key}' is already in use; choose another")
        agreement = self._agreement(agreement_key)
        points = [contact_point(p, step) for p in agreement.partners for step in STEPS]
        drill = AlertDrill(
            drill_key=drill_key,
            agreement_key=agreement_key,
            agreement_version=agreement.version,
            contact_points=points,
            wait_seconds=wait_seconds,
            ctx=ctx,
        )
        self.save(drill)
        return drill

    def drill_agreement(self, drill: AlertDrill) -> Agreement:
        """The version of the agreement the drill tests."""
        return self._agreement(drill.agreement_key, drill.agreement_version)

    def drill_contact(self, drill: AlertDrill, point: str) -> ContactPoint:
        """The address of `point` as the drill's agreement version has it."""
        partner_id, step = point.split("/", 1)
        terms = self.drill_agreement(drill).partner(partner_id)
        contact: ContactPoint = getattr(terms, step)
        return contact

    def record_drill_sending(
        self, drill_key: str, point: str, delivered: bool, detail: str, ctx: CommandContext
    ) -> AlertDrill:
        def record(drill: AlertDrill) -> None:
            contact = self.drill_contact(drill, point)
            drill.record_sending(point, delivered, contact.channel, contact.address, detail, ctx)

        return self._drill_command(drill_key, ctx, record)

    def answer_drill(self, drill_key: str, point: str, ctx: CommandContext) -> AlertDrill:
        return self._drill_command(drill_key, ctx, lambda drill: drill.answer(point, ctx))

    def mark_drill_not_answering(
        self, drill_key: str, point: str, ctx: CommandContext
    ) -> AlertDrill:
        return self._drill_command(
            drill_key, ctx, lambda drill: drill.mark_not_answering(point, ctx)
        )

    def finish_drill(self, drill_key: str, ctx: CommandContext) -> AlertDrill:
        return self._drill_command(drill_key, ctx, lambda drill: drill.finish(ctx))

    def drill(self, drill_key: str) -> AlertDrill:
        """The drill now (a copy)."""
        try:
            found: object = self.repository.get(ids.drill_id(drill_key))
        except AggregateNotFoundError:
            raise DrillNotFoundError(f"no drill '{drill_key}' is recorded") from None
        if not isinstance(found, AlertDrill):
            raise TypeError(f"aggregate for drill '{drill_key}' is a {type(found)}")
        return found

    def _drill_command(
        self, drill_key: str, ctx: CommandContext, command: Callable[[AlertDrill], None]
    ) -> AlertDrill:
        def kept() -> AlertDrill:
            found: object = self.repository.get(ids.drill_id(drill_key), deepcopy_from_cache=False)
            assert isinstance(found, AlertDrill)
            return found

        self.drill(drill_key)  # a drill never recorded is refused by name
        return self._run_command(self._incident_lock(f"drill/{drill_key}"), kept, ctx, command)
