"""The incident's roll: who is on which list, known only by keyed hashes (issue #8).

One small aggregate per incident. Each person the lists name gets one pseudonymous reference
here, and the same person arriving on another list is linked to it instead of registered again.
The roll never holds a name or a date of birth: only the identity keys of domain/identity.py
(HMAC under a key kept apart from the record) and the reference they lead to.

- A *listing* is one source's entry for one person: the key of the source and the person's
  `exact` key, or — without a date of birth — also the row, since a name alone does not tell
  two people apart. A listing seen before (the same file imported again, an import resumed)
  changes nothing and leads to the same reference.
- The same `exact` key (name and date of birth) from another source is the same person: the
  listing is *linked* to the reference already given.
- The same *sound* with the same date of birth (`Meier`/`Mayer`), or the same name without a
  date of birth, is only *likely* the same: the listing gets a reference of its own — nobody
  waits for an operator to be registered — and the pair is put to the operator, who confirms
  (the later case is merged into the earlier) or rejects it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from eventsourcing.domain import Aggregate, event

from contracts.messages import CommandContext
from contracts.people import RegistrationSource
from domain import ids
from domain.errors import DuplicateNotFoundError

REF_PREFIXES: dict[RegistrationSource, str] = {
    RegistrationSource.POLICE_LIST: "PL",
    RegistrationSource.RED_CROSS: "RK",
    RegistrationSource.HOTLINE: "HT",
    RegistrationSource.SELF_REFERRAL: "SR",
    RegistrationSource.PARTNER: "PA",
}
"""The first two letters of an imported person's reference, by the list it came from first
(`PL-00017`: the 17th person the police list brought). Five digits: references typed by hand
have four (`DD-0042`), so the two do not meet."""


class Match(StrEnum):
    """What the roll made of a listing."""

    NEW = "new"
    """A person the roll did not know: a new reference."""
    LINKED = "linked"
    """The same name and date of birth as a person from another listing: their reference."""
    SEEN = "seen"
    """This listing was taken before (the same list again): its reference, nothing recorded."""


class PairStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Listing:
    """One entry of one list, as keys: what the roll compares."""

    source: RegistrationSource
    exact: str
    sound: str
    born_known: bool
    row: int
    """The row (line) on its list; part of the listing only when the date of birth is unknown."""

    @property
    def key(self) -> str:
        base = f"{self.source.value}/{self.exact}"
        return base if self.born_known else f"{base}/row-{self.row}"


@dataclass
class LikelyPair:
    """Two references that are likely one person, put to an operator."""

    pair_id: int
    earlier: str
    later: str
    status: PairStatus = PairStatus.PENDING


@dataclass(frozen=True)
class Placed:
    """The roll's answer for a listing."""

    ref: str
    match: Match
    pairs: tuple[int, ...] = ()


class PeopleRoll(Aggregate):
    """Every person the lists of one incident name, as identity keys and references."""

    @staticmethod
    def create_id(incident_key: str) -> Any:
        return ids.roll_id(incident_key)

    @event("Opened")
    def __init__(self, incident_key: str, ctx: CommandContext) -> None:
        self.incident_key = incident_key
        self.listings: dict[str, str] = {}  # listing key → reference
        self.by_exact: dict[str, str] = {}  # exact key (with a date of birth) → reference
        self.by_sound: dict[str, list[str]] = {}  # sound key → references, oldest first
        self.nameless: dict[str, list[str]] = {}  # exact key without a birth date → references
        self.sources: dict[str, list[str]] = {}  # reference → sources, in order
        self.numbers: dict[str, int] = {}  # reference prefix → the last number given
        self.pairs: dict[int, LikelyPair] = {}
        self.merged_into: dict[str, str] = {}  # a merged reference → the one it lives on as
        self.command_ids: set[str] = set()

    def has_applied(self, ctx: CommandContext) -> bool:
        return ctx.command_id in self.command_ids

    # --- commands -------------------------------------------------------------------------

    def place(self, listing: Listing, taken: Callable[[str], bool], ctx: CommandContext) -> Placed:
        """The reference for `listing`: the one it had, the one of the same person, or a new
        one that is not `taken` (a reference the record holds already, typed by hand)."""
        if listing.key in self.listings:
            return Placed(self.living(self.listings[listing.key]), Match.SEEN)
        if listing.born_known and listing.exact in self.by_exact:
            ref = self.living(self.by_exact[listing.exact])
            self._linked(listing_key=listing.key, ref=ref, source=listing.source.value, ctx=ctx)
            return Placed(ref, Match.LINKED)
        ref = self._next_ref(listing.source, taken)
        likely = self.by_sound.get(listing.sound, [])
        if not listing.born_known:  # a name alone: every person of that name is only likely
            likely = likely + self.nameless.get(listing.exact, [])
        likely = list(dict.fromkeys(o for o in likely if o not in self.merged_into))
        first_pair = len(self.pairs) + 1
        self._listed(
            listing_key=listing.key,
            ref=ref,
            exact=listing.exact,
            born_known=listing.born_known,
            sound=listing.sound,
            source=listing.source.value,
            likely=likely,
            ctx=ctx,
        )
        return Placed(ref, Match.NEW, tuple(range(first_pair, first_pair + len(likely))))

    def confirm(self, pair_id: int, ctx: CommandContext) -> LikelyPair:
        """The pair is one person: the later reference lives on as the earlier one."""
        pair = self.pair(pair_id)
        if pair.status is PairStatus.PENDING:
            self._confirmed(pair_id=pair_id, ctx=ctx)
        return pair

    def reject(self, pair_id: int, ctx: CommandContext) -> LikelyPair:
        """The pair is two people: it is not put to anyone again."""
        pair = self.pair(pair_id)
        if pair.status is PairStatus.PENDING:
            self._rejected_pair(pair_id=pair_id, ctx=ctx)
        return pair

    # --- queries --------------------------------------------------------------------------

    def pair(self, pair_id: int) -> LikelyPair:
        try:
            return self.pairs[pair_id]
        except KeyError:
            known = f"1 to {len(self.pairs)}" if self.pairs else "none yet"
            raise DuplicateNotFoundError(
                f"incident '{self.incident_key}' has no likely duplicate {pair_id} "
                f"(numbers: {known})"
            ) from None

    def pending(self) -> list[LikelyPair]:
        return [pair for pair in self.pairs.values() if pair.status is PairStatus.PENDING]

    # --- events ---------------------------------------------------------------------------

    @event("Listed")
    def _listed(
        self,
        listing_key: str,
        ref: str,
        exact: str,
        born_known: bool,
        sound: str,
        source: str,
        likely: list[str],
        ctx: CommandContext,
    ) -> None:
        self.command_ids.add(ctx.command_id)
        prefix, number = ref.split("-")
        self.numbers[prefix] = max(self.numbers.get(prefix, 0), int(number))
        self.listings[listing_key] = ref
        if born_known:
            self.by_exact.setdefault(exact, ref)
        else:
            self.nameless.setdefault(exact, []).append(ref)
        self.by_sound.setdefault(sound, []).append(ref)
        self.sources[ref] = [source]  # stored as text
        for other in likely:
            pair_id = len(self.pairs) + 1
            self.pairs[pair_id] = LikelyPair(pair_id=pair_id, earlier=other, later=ref)

    @event("Linked")
    def _linked(self, listing_key: str, ref: str, source: str, ctx: CommandContext) -> None:
        self.command_ids.add(ctx.command_id)
        self.listings[listing_key] = ref
        if source not in self.sources[ref]:
            self.sources[ref].append(source)

    @event("DuplicateConfirmed")
    def _confirmed(self, pair_id: int, ctx: CommandContext) -> None:
        self.command_ids.add(ctx.command_id)
        pair = self.pairs[pair_id]
        pair.status = PairStatus.CONFIRMED
        self.merged_into[pair.later] = pair.earlier
        for source in self.sources.get(pair.later, []):
            if source not in self.sources[pair.earlier]:
                self.sources[pair.earlier].append(source)

    @event("DuplicateRejected")
    def _rejected_pair(self, pair_id: int, ctx: CommandContext) -> None:
        self.command_ids.add(ctx.command_id)
        self.pairs[pair_id].status = PairStatus.REJECTED

    # --- helpers --------------------------------------------------------------------------

    def living(self, ref: str) -> str:
        """The reference a person lives on as (a merged one leads to the one it joined)."""
        while ref in self.merged_into:
            ref = self.merged_into[ref]
        return ref

    def _next_ref(self, source: RegistrationSource, taken: Callable[[str], bool]) -> str:
        prefix = REF_PREFIXES[source]
        number = self.numbers.get(prefix, 0) + 1
        while taken(f"{prefix}-{number:05d}"):
            number += 1
        return f"{prefix}-{number:05d}"
