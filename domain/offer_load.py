"""How many referrals each support offer holds open: one small aggregate per offer.

A place is taken and released under a referral key (the referral that holds it), so each is
idempotent by that key: taking a place the referral already holds, or releasing one it does not
hold, records nothing. A retried activity changes nothing twice, whatever its command id.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate, event

from contracts.messages import CommandContext
from domain import ids
from domain.errors import OfferFullError


class OfferLoad(Aggregate):
    """The referrals that hold a place at one offer now."""

    @staticmethod
    def create_id(offer_id: str) -> Any:
        return ids.offer_load_id(offer_id)

    @event("LedgerOpened")
    def __init__(self, offer_id: str, ctx: CommandContext) -> None:
        self.offer_id = offer_id
        self.holders: set[str] = set()

    @property
    def taken(self) -> int:
        return len(self.holders)

    def take(self, referral_key: str, ctx: CommandContext, capacity: int | None = None) -> bool:
        """Hold a place for `referral_key`; False if it holds one already. With `capacity`,
        refuse (`OfferFullError`) when that many places are held by other referrals."""
        if referral_key in self.holders:
            return False
        if capacity is not None and self.taken >= capacity:
            raise OfferFullError(
                f"offer '{self.offer_id}' has no place left ({self.taken} of {capacity} taken); "
                "match the need again"
            )
        self._place_taken(referral_key=referral_key, ctx=ctx)
        return True

    def release(self, referral_key: str, ctx: CommandContext) -> bool:
        """Give back the place of `referral_key`; False if it holds none."""
        if referral_key not in self.holders:
            return False
        self._place_released(referral_key=referral_key, ctx=ctx)
        return True

    @event("PlaceTaken")
    def _place_taken(self, referral_key: str, ctx: CommandContext) -> None:
        self.holders.add(referral_key)

    @event("PlaceReleased")
    def _place_released(self, referral_key: str, ctx: CommandContext) -> None:
        self.holders.discard(referral_key)
