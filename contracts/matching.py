"""Matching: which support offer one need of one person goes to, and why the others did not.

An offer fits when it lists the need's category, its provider's remit covers that category
(never crossed, even by an offer that lists the category: the agreement creates no new
responsibilities), it serves the person's district, it has a place left, and it was not tried
before for this need. Among those that fit, one offering the person's language comes first,
then more places left, then the offer id: the same input always gives the same choice.

Pure and deterministic: the workflow runs it too (in Temporal's sandbox), and the record and the
CLI print the same explanation (`explain`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from contracts.offers import Provider, SupportOffer
from contracts.vocabulary import NeedCategory, Region


class PassReason(StrEnum):
    """Why an offer was not picked, in the order they are checked."""

    ALREADY_TRIED = "already tried"
    CATEGORY_NOT_OFFERED = "category not offered"
    OUTSIDE_REMIT = "provider's remit does not cover it"
    DISTRICT_NOT_SERVED = "district not served"
    NO_CAPACITY = "no capacity left"


class _Result(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OfferMatch(_Result):
    """An offer that fits, with the remaining places and why it fits."""

    offer_id: str
    provider_id: str
    name: str
    remaining: int
    language_offered: bool
    reasons: list[str]


class PassedOver(_Result):
    offer_id: str
    reason: PassReason


class OfferChoice(_Result):
    """The offers that fit, best first, and why each other offer was passed over."""

    category: NeedCategory
    district: Region
    language: str
    ranked: list[OfferMatch]
    passed_over: list[PassedOver]

    @property
    def best(self) -> OfferMatch | None:
        return self.ranked[0] if self.ranked else None


def match_offers(
    providers: Iterable[Provider],
    offers: Iterable[SupportOffer],
    category: NeedCategory,
    district: Region,
    language: str,
    taken: Mapping[str, int] | None = None,
    exclude: Collection[str] = (),
) -> OfferChoice:
    """Rank the offers for one need: `taken` counts the places in use per offer id (missing:
    none), `exclude` names offers already tried for this need. The order of the inputs does not
    matter."""
    remits = {provider.id: frozenset(provider.remit) for provider in providers}
    taken = taken or {}
    ranked: list[OfferMatch] = []
    passed: list[PassedOver] = []
    for offer in offers:
        remaining = max(offer.capacity - taken.get(offer.id, 0), 0)
        reason = _pass_reason(offer, remits, category, district, remaining, exclude)
        if reason is not None:
            passed.append(PassedOver(offer_id=offer.id, reason=reason))
            continue
        ranked.append(_match(offer, category, district, language, remaining))
    ranked.sort(key=lambda match: (not match.language_offered, -match.remaining, match.offer_id))
    passed.sort(key=lambda item: item.offer_id)
    return OfferChoice(
        category=category, district=district, language=language, ranked=ranked, passed_over=passed
    )


def _pass_reason(
    offer: SupportOffer,
    remits: Mapping[str, frozenset[NeedCategory]],
    category: NeedCategory,
    district: Region,
    remaining: int,
    exclude: Collection[str],
) -> PassReason | None:
    if offer.id in exclude:
        return PassReason.ALREADY_TRIED
    if category not in offer.categories:
        return PassReason.CATEGORY_NOT_OFFERED
    if category not in remits.get(offer.provider_id, frozenset()):
        return PassReason.OUTSIDE_REMIT
    if not offer.serves(district):
        return PassReason.DISTRICT_NOT_SERVED
    if remaining <= 0:
        return PassReason.NO_CAPACITY
    return None


def _match(
    offer: SupportOffer, category: NeedCategory, district: Region, language: str, remaining: int
) -> OfferMatch:
    offered = language in offer.languages
    where = f"serves {district}" if offer.districts else "statewide"
    speaks = (
        f"offers {language}"
        if offered
        else f"does not offer {language} (offers {', '.join(offer.languages)})"
    )
    return OfferMatch(
        offer_id=offer.id,
        provider_id=offer.provider_id,
        name=offer.name,
        remaining=remaining,
        language_offered=offered,
        reasons=[
            f"offers {category} within the remit of {offer.provider_id}",
            where,
            speaks,
            f"{remaining} of {offer.capacity} places free",
        ],
    )


# Reasons common enough to be counted; the rarer ones name their offers.
_COUNTED = (PassReason.CATEGORY_NOT_OFFERED, PassReason.DISTRICT_NOT_SERVED)


def explain(choice: OfferChoice) -> str:
    """One English line for the record and the CLI: the pick and why, then what was passed over
    (the common reasons counted, the others with the offers they concern)."""
    need = f"{choice.category} in {choice.district} (language {choice.language})"
    best = choice.best
    if best is None:
        head = f"no offer fits {need}"
    else:
        head = f"picked {best.offer_id} for {need}: {'; '.join(best.reasons)}"
        others = [match.offer_id for match in choice.ranked[1:]]
        if others:
            head += f". Also fit, in order: {', '.join(others)}"
    parts = []
    for reason in PassReason:
        concerned = [item.offer_id for item in choice.passed_over if item.reason is reason]
        if not concerned:
            continue
        if reason in _COUNTED:
            parts.append(f"{len(concerned)} {reason}")
        else:
            parts.append(f"{reason}: {', '.join(concerned)}")
    if not parts:
        return head
    return f"{head}. Passed over: {'; '.join(parts)}"
