"""The application's commands and queries on an incident's roll (a mixin of `LotseApplication`).

Placing listings is idempotent twice over: a listing the roll holds is answered as seen, and
the command's id follows from the incident and the listings, so the same list imported twice,
or an import resumed after Ctrl-C, records nothing the second time and gets the same
references.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Repository

from contracts.messages import CommandContext
from domain import ids
from domain.damage import naming
from domain.errors import PersonNotFoundError
from domain.projecting import apply_to_any
from domain.roll import LikelyPair, Listing, Match, PeopleRoll, Placed

if TYPE_CHECKING:
    from domain.incident import Incident
    from domain.person import AffectedPerson

LISTING_COMMANDS = uuid.UUID("0b6f3c1e-7d42-4a9e-b5c8-2e1f9a6d7c30")
"""Namespace of a listing's command id (uuid5 of the incident and the listing key)."""


class RollMixin:
    """The incident's roll of listed people. Needs the application's repository, its
    incident lock table and `_run_command`."""

    if TYPE_CHECKING:
        repository: Repository[UUID]

        def incident(self, incident_key: str, version: int | None = None) -> Incident: ...
        def person(self, incident_key: str, person_ref: str) -> AffectedPerson: ...
        def _incident_lock(self, incident_key: str) -> threading.Lock: ...
        def _run_command(
            self,
            lock: threading.Lock,
            kept: Callable[[], PeopleRoll],
            ctx: CommandContext,
            command: Callable[[PeopleRoll], None],
        ) -> PeopleRoll: ...

    def place_listings(
        self, incident_key: str, listings: list[Listing], ctx: CommandContext
    ) -> list[Placed]:
        """The reference of the person each listing names, in order: new, linked to the same
        person from another list, or the one this listing got before. One command for all of
        them (one transaction); its id follows from the listings, so a repeat records nothing
        and answers each as seen."""
        keys = "\n".join(listing.key for listing in listings)
        command_id = f"listing-{uuid.uuid5(LISTING_COMMANDS, f'{incident_key}/{keys}')}"
        ctx = ctx.model_copy(update={"command_id": command_id})
        answers: list[Placed] = []

        def taken(ref: str) -> bool:
            try:
                self.person(incident_key, ref)
            except PersonNotFoundError:
                return False
            return True

        def place(roll: PeopleRoll) -> None:
            answers.clear()  # a retry after a lost race places them all again
            answers.extend(roll.place(listing, taken, ctx) for listing in listings)

        roll = self._on_roll(incident_key, ctx, place)
        if answers:
            return answers
        return [Placed(roll.living(roll.listings[item.key]), Match.SEEN) for item in listings]

    def settle_duplicate(
        self, incident_key: str, pair_id: int, same: bool, ctx: CommandContext
    ) -> LikelyPair:
        """Confirm (`same`) or reject a likely duplicate; a repeat changes nothing. A pair
        settled the other way before is answered as it stands."""
        answers: list[LikelyPair] = []

        def settle(roll: PeopleRoll) -> None:
            answers.append(roll.confirm(pair_id, ctx) if same else roll.reject(pair_id, ctx))

        roll = self._on_roll(incident_key, ctx, settle)
        return answers[-1] if answers else roll.pair(pair_id)

    def roll(self, incident_key: str) -> PeopleRoll | None:
        """The incident's roll (a copy); None while no list was imported."""
        self.incident(incident_key)  # IncidentNotFoundError first
        with self._incident_lock(f"roll/{incident_key}"):
            return self._get_roll(incident_key, copy=True)

    def _on_roll(
        self, incident_key: str, ctx: CommandContext, command: Callable[[PeopleRoll], None]
    ) -> PeopleRoll:
        self.incident(incident_key)  # IncidentNotFoundError first

        def kept() -> PeopleRoll:
            found = self._get_roll(incident_key, copy=False)
            return found if found is not None else PeopleRoll(incident_key=incident_key, ctx=ctx)

        return self._run_command(self._incident_lock(f"roll/{incident_key}"), kept, ctx, command)

    def _get_roll(self, incident_key: str, copy: bool) -> PeopleRoll | None:
        # The roll is kept, not copied, for commands: a copy of 5,000 listings per row would
        # cost more than the row.
        try:
            with naming(f"the people roll of incident '{incident_key}'"):
                found: object = self.repository.get(
                    ids.roll_id(incident_key), projector_func=apply_to_any, deepcopy_from_cache=copy
                )
        except AggregateNotFoundError:
            return None
        if not isinstance(found, PeopleRoll):
            raise TypeError(f"aggregate for the roll of '{incident_key}' is a {type(found)}")
        return found
