"""The directory of support offers as data: the schema of `agreements/support-offers.toml`.

A provider ("Träger") is an organisation with a remit; a support offer ("Hilfsangebot",
"Beratungsstelle") is one of its services that can take referrals: which need categories, which
districts, which languages, how many open referrals at once, and the office that receives them.
The agreement "creates no new responsibilities", so an offer may only list categories within
its provider's remit, and a provider that is a partner of the agreement may only claim what the
agreement gives that partner (`partner_problems`, checked where both are known).

The file is the versioned source; the event-sourced `Directory` aggregate records which offers
were in force when. A malformed file is refused with one message naming the file, the offer
and the problem. Pure and free of I/O except `load_directory_file`: the models run inside
Temporal's workflow sandbox too.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from contracts.agreement import (
    ContactPoint,
    PartnerId,
    PartnerTerms,
    describe_validation_error,
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


class DirectoryFileError(ValueError):
    """The directory file cannot be used; the message names the file, offer and problem."""


def load_directory_file(path: Path) -> DirectoryTerms:
    """Read and validate a directory file, or raise `DirectoryFileError` saying what is wrong."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DirectoryFileError(f"{path}: no such file") from None
    except OSError as error:
        raise DirectoryFileError(f"{path}: cannot be read: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise DirectoryFileError(f"{path}: not valid TOML: {error}") from None
    try:
        return DirectoryTerms.model_validate(raw)
    except ValidationError as error:
        problems = [_named(problem, raw) for problem in describe_validation_error(error)]
        raise DirectoryFileError(f"{path}: {'; '.join(problems)}") from None


_ENTRY = re.compile(r"^(?P<table>offers|providers)\[(?P<index>[0-9]+)\]")


def _named(problem: str, raw: dict[str, Any]) -> str:
    """`offers[3].capacity: …` becomes `offers[3] (offer 'ohs-dresden').capacity: …`: a file
    of thirty offers is searched by id, not counted."""
    found = _ENTRY.match(problem)
    if found is None:
        return problem
    entries = raw.get(found["table"])
    index = int(found["index"])
    if not isinstance(entries, list) or index >= len(entries):
        return problem
    entry = entries[index]
    entry_id = entry.get("id") if isinstance(entry, dict) else None
    if not isinstance(entry_id, str):
        return problem
    what = "offer" if found["table"] == "offers" else "provider"
    return f"{found[0]} ({what} '{entry_id}'){problem[found.end() :]}"
