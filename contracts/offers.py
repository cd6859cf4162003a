"""The directory of support offers as data: the schema of `agreements/support-offers.toml`.

A provider ("Träger") is an organisation with a remit; a support offer ("Hilfsangebot",
"Beratungsstelle") is one of its services that can take referrals: which need categories, which
districts, which languages, how many open referrals at once, and the office that receives them.
The agreement "creates no new responsibilities", so an offer may only list categories within
its provider's remit, and a provider that is a partner of the agreement may only claim what the
agreement gives that partner (`partner_problems`, checked where both are known).

Matching (`match_offers`) picks the offer for one need of one person and says why each other
offer was passed over (`explain`); see below.

The file (read by `contracts.directory_file`) is the versioned source; the event-sourced
`Directory` aggregate records which offers were in force when. Pure and free of I/O: models and
matching run inside Temporal's workflow sandbox too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Mapping
from enum import StrEnum
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from contracts.agreement import (
    ContactPoint,
    PartnerId,
    PartnerTerms,
)
from contracts.people import LanguageCode, OfferId, RecipientId
from contracts.vocabulary import NeedCategory, Region

Name = Annotated[str, StringConstraints(min_length=2, max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Provider(_Strict):
    """An organisation that runs support offers, with the remit it already has."""

    id: RecipientId
    name: Name
    remit: list[NeedCategory] = Field(
        min_length=1, description="The need categories the provider already handles."
    )
    partner: bool = Field(
        default=False,
        description="A party to the cooperation agreement: its id is a partner id there, and "
        "its remit lies within the remit the agreement gives it.",
    )


class SupportOffer(_Strict):
    """One service that can take referrals."""

    id: OfferId
    provider_id: RecipientId
    name: Name
    categories: list[NeedCategory] = Field(
        min_length=1, description="The needs it meets; all within the provider's remit."
    )
    districts: list[Region] = Field(
        default_factory=list,
        description="The districts it serves; an empty list means statewide: it serves every "
        "district, and people who live outside Saxony.",
    )
    languages: list[LanguageCode] = Field(
        min_length=1, description="Languages counselling is offered in (ISO 639 codes)."
    )
    capacity: int = Field(ge=0, description="Open referrals it can hold at once.")
    contact: ContactPoint = Field(description="Where referrals go: an office, never a person.")

    def serves(self, district: Region) -> bool:
        return not self.districts or district in self.districts


def _refused(message: str) -> PydanticCustomError:
    # A custom error reads `offers: offer 'x': …` through describe_validation_error, without
    # pydantic's "Value error," in the middle.
    return PydanticCustomError("directory", message)


def _repeated(values: Iterable[str]) -> list[str]:
    values = list(values)
    return sorted({value for value in values if values.count(value) > 1})


class DirectoryTerms(_Strict):
    """The whole directory file: providers and their offers."""

    directory_id: PartnerId
    title: Annotated[str, StringConstraints(min_length=2, max_length=300)]
    providers: list[Provider] = Field(min_length=1)
    offers: list[SupportOffer] = Field(min_length=1)

    @field_validator("providers")
    @classmethod
    def _provider_ids_are_unique(cls, providers: list[Provider]) -> list[Provider]:
        repeated = _repeated(provider.id for provider in providers)
        if repeated:
            raise _refused(f"provider ids must be unique; repeated: {', '.join(repeated)}")
        return providers

    @field_validator("offers")
    @classmethod
    def _offers_fit_their_providers(
        cls, offers: list[SupportOffer], info: ValidationInfo
    ) -> list[SupportOffer]:
        repeated = _repeated(offer.id for offer in offers)
        if repeated:
            raise _refused(f"offer ids must be unique; repeated: {', '.join(repeated)}")
        # Providers come first in the model, so they are validated (or missing) by now.
        providers = {p.id: p for p in info.data.get("providers", [])}
        problems = [problem for offer in offers for problem in _offer_problems(offer, providers)]
        if problems:
            raise _refused("; ".join(problems))
        return offers

    def provider(self, provider_id: str) -> Provider:
        for provider in self.providers:
            if provider.id == provider_id:
                return provider
        raise KeyError(provider_id)

    def offer(self, offer_id: str) -> SupportOffer:
        for offer in self.offers:
            if offer.id == offer_id:
                return offer
        raise KeyError(offer_id)

    def digest(self) -> str:
        """A content hash, independent of formatting and comments in the file."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


def _offer_problems(offer: SupportOffer, providers: dict[str, Provider]) -> list[str]:
    if offer.id in providers:
        # Consent names its recipient by id, offer or provider alike: one id for two
        # recipients would let a consent given to one cover the other.
        return [f"offer '{offer.id}': its id is also a provider's id; choose another"]
    provider = providers.get(offer.provider_id)
    if provider is None:
        known = ", ".join(sorted(providers)) or "none"
        return [
            f"offer '{offer.id}': provider '{offer.provider_id}' is not in the directory "
            f"(providers: {known})"
        ]
    outside = [c for c in offer.categories if c not in provider.remit]
    if outside:
        return [
            f"offer '{offer.id}': {', '.join(outside)} is outside the remit of provider "
            f"'{provider.id}' ({', '.join(provider.remit)}); the agreement creates no new "
            "responsibilities"
        ]
    return []


def partner_problems(
    directory: DirectoryTerms, agreement_id: str, partners: Iterable[PartnerTerms]
) -> list[str]:
    """Where the directory's providers disagree with the `partners` of agreement `agreement_id`,
    one line each (empty: none).

    A provider marked as partner must be a partner of the agreement and claim no need category
    the agreement does not give it; a provider whose id is a partner's must be marked partner."""
    by_id = {partner.id: partner for partner in partners}
    problems = []
    for provider in directory.providers:
        terms = by_id.get(provider.id)
        if provider.partner and terms is None:
            problems.append(
                f"provider '{provider.id}' is marked partner but is not a partner of agreement "
                f"'{agreement_id}' (partners: {', '.join(sorted(by_id))})"
            )
        elif terms is not None and not provider.partner:
            problems.append(
                f"provider '{provider.id}' is a partner of agreement '{agreement_id}'; "
                "mark it partner = true"
            )
        elif terms is not None:
            outside = [c for c in provider.remit if c not in terms.remit.categories]
            if outside:
                problems.append(
                    f"provider '{provider.id}': {', '.join(outside)} is outside its remit in "
                    f"agreement '{agreement_id}' "
                    f"({', '.join(terms.remit.categories)}); the agreement creates no new "
                    "responsibilities"
                )
    return problems


# --- matching ----------------------------------------------------------------------------------
#
# Which support offer one need of one person goes to, and why the others did not.
#
# An offer fits when it lists the need's category, its provider's remit covers that category
# (never crossed, even by an offer that lists the category: the agreement creates no new
# responsibilities), it serves the person's district, it has a place left, and it was not tried
# before for this need. Among those that fit, one offering the person's language comes first,
# then more places left, then the offer id: the same input always gives the same choice.
#
# Pure and deterministic: the workflow runs it too (in Temporal's sandbox), and the record and the
# CLI print the same explanation (`explain`).


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

    def explanation(self) -> str:
        """The one line of `explain`."""
        return explain(self)


def match_offers(
    directory: DirectoryTerms,
    category: NeedCategory,
    district: Region,
    language: str,
    taken: Mapping[str, int] | None = None,
    exclude: Collection[str] = (),
) -> OfferChoice:
    """Rank the directory's offers for one need: `taken` counts the places in use per offer id
    (missing: none), `exclude` names offers already tried for this need. The order of providers
    and offers does not matter. The remit is checked here too, whatever the directory let
    through (a copy with other offers, a model built without validation)."""
    remits = {provider.id: frozenset(provider.remit) for provider in directory.providers}
    taken = taken or {}
    ranked: list[OfferMatch] = []
    passed: list[PassedOver] = []
    for offer in directory.offers:
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
