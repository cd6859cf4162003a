"""The directory of support offers and each offer's places, as commands of `LotseApplication`.

`DirectoryCommands` is mixed into `LotseApplication`; it needs only the library's application
(repository, events, save). Loading the directory is idempotent by content, as the agreement
is; taking and releasing a place are idempotent by referral key.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError
from pydantic import BaseModel, ConfigDict

from contracts.agreement import PartnerTerms
from contracts.messages import CommandContext
from contracts.offers import DirectoryTerms, partner_problems
from domain import ids
from domain.agreement import Agreement
from domain.damage import naming
from domain.directory import Directory
from domain.errors import (
    AgreementNotFoundError,
    DirectoryConflictError,
    DirectoryNotFoundError,
)
from domain.offer_load import OfferLoad
from domain.projecting import apply_to_any

# Two referrals to one offer at the same moment collide on its load; each retry reads only the
# events written since, and a lost race on a small aggregate is over in one more attempt.
LOAD_CONFLICT_RETRIES = 20
LOAD_CONFLICT_BACKOFF_SECONDS = 0.002


class DirectoryLoaded(BaseModel):
    """What a load did. `revision` counts the loads that changed something (1, 2, …)."""

    model_config = ConfigDict(frozen=True)

    directory_key: str
    revision: int
    aggregate_version: int
    changes: list[str]


class DirectoryCommands(Application[UUID]):
    """Commands and queries of the directory and of the offers' places."""

    # --- the directory --------------------------------------------------------------------

    def load_directory(
        self, terms: DirectoryTerms, ctx: CommandContext, *, agreement_key: str
    ) -> DirectoryLoaded:
        """Record `terms` as the directory in force; identical terms record nothing.

        Refused (`DirectoryConflictError`, nothing recorded) where a provider disagrees with
        agreement `agreement_key` as it stands now: a partner provider must be a partner there
        and claim no category outside its remit there."""
        problems = partner_problems(terms, agreement_key, self._partners(agreement_key))
        if problems:
            raise DirectoryConflictError(
                f"directory '{terms.directory_id}' does not fit agreement '{agreement_key}': "
                + "; ".join(problems)
            )
        try:
            directory = self.directory(terms.directory_id)
        except DirectoryNotFoundError:
            directory = Directory(directory_key=terms.directory_id, title=terms.title, ctx=ctx)
        changes = directory.revise(terms, ctx)
        if changes:
            self.save(directory)
        return DirectoryLoaded(
            directory_key=terms.directory_id,
            revision=directory.revision,
            aggregate_version=directory.version,
            changes=changes,
        )

    def directory(
        self, directory_key: str, version: int | None = None, *, to_change: bool = True
    ) -> Directory:
        """The directory now, or at an aggregate `version`; `to_change=False` for a look only:
        the cached aggregate itself, not a deep copy of every offer (three looks a case)."""
        try:
            with naming(f"directory '{directory_key}'"):
                found: object = self.repository.get(
                    ids.directory_id(directory_key),
                    version=version,
                    projector_func=apply_to_any,
                    deepcopy_from_cache=to_change,
                )
        except AggregateNotFoundError:
            raise DirectoryNotFoundError(
                f"directory '{directory_key}' has not been loaded (run `lotse offers load`)"
            ) from None
        if not isinstance(found, Directory):
            raise TypeError(f"aggregate for directory '{directory_key}' is a {type(found)}")
        return found

    def _partners(self, agreement_key: str) -> list[PartnerTerms]:
        """The partners of the agreement in force now."""
        try:
            with naming(f"agreement '{agreement_key}'"):
                found: object = self.repository.get(
                    ids.agreement_id(agreement_key), projector_func=apply_to_any
                )
        except AggregateNotFoundError:
            raise AgreementNotFoundError(
                f"agreement '{agreement_key}' has not been loaded (run `lotse agreement load`)"
            ) from None
        if not isinstance(found, Agreement):
            raise TypeError(f"aggregate for agreement '{agreement_key}' is a {type(found)}")
        return list(found.partners.values())

    # --- places at an offer ---------------------------------------------------------------

    def take_place(
        self,
        offer_id: str,
        referral_key: str,
        ctx: CommandContext,
        *,
        capacity: int | None = None,
    ) -> int:
        """Hold a place at `offer_id` for `referral_key`; return the places taken now.

        Taking a place the referral already holds records nothing. With `capacity`, a take
        beyond it is refused (`OfferFullError`, nothing recorded), also when another referral
        took the last place a moment earlier."""

        def take(load: OfferLoad | None) -> OfferLoad:
            load = load or OfferLoad(offer_id=offer_id, ctx=ctx)
            load.take(referral_key, ctx, capacity)
            return load

        return self._on_load(offer_id, take)

    def release_place(self, offer_id: str, referral_key: str, ctx: CommandContext) -> int:
        """Give back the place `referral_key` holds at `offer_id`; return the places taken now.

        Releasing a place the referral does not hold records nothing."""

        def release(load: OfferLoad | None) -> OfferLoad | None:
            if load is not None:
                load.release(referral_key, ctx)
            return load

        return self._on_load(offer_id, release)

    def places_taken(self, offer_ids: Iterable[str]) -> dict[str, int]:
        """Places taken now at each offer (0 for an offer never referred to)."""
        return {offer_id: self._taken(offer_id) for offer_id in offer_ids}

    def _taken(self, offer_id: str) -> int:
        load = self._offer_load(offer_id, to_change=False)
        return 0 if load is None else load.taken

    def _offer_load(self, offer_id: str, *, to_change: bool = True) -> OfferLoad | None:
        """The offer's load; `to_change=False` for a look only: the cached aggregate itself,
        not a deep copy of its holders (thousands at a busy offer, copied for every case)."""
        try:
            with naming(f"the places taken at offer '{offer_id}'"):
                found: object = self.repository.get(
                    ids.offer_load_id(offer_id),
                    projector_func=apply_to_any,
                    deepcopy_from_cache=to_change,
                )
        except AggregateNotFoundError:
            return None
        if not isinstance(found, OfferLoad):
            raise TypeError(f"aggregate for the load of offer '{offer_id}' is a {type(found)}")
        return found

    def _on_load(
        self, offer_id: str, command: Callable[[OfferLoad | None], OfferLoad | None]
    ) -> int:
        """Get → command → save on a copy of the offer's load; on a concurrent write, start
        over from what the other writer recorded. A command that records nothing saves
        nothing."""
        for attempt in range(1, LOAD_CONFLICT_RETRIES + 1):
            load = command(self._offer_load(offer_id))
            if load is None:
                return 0
            try:
                self.save(load)
            except IntegrityError:
                if attempt == LOAD_CONFLICT_RETRIES:
                    raise
                time.sleep(random.uniform(0, LOAD_CONFLICT_BACKOFF_SECONDS * attempt))  # jitter
            else:
                return load.taken
        raise AssertionError("unreachable")  # the loop returns or raises
