"""The cooperation agreement as data: the schema of `agreements/*.toml` and its loader.

The file is the versioned source; the event-sourced `Agreement` aggregate is the record of which
terms were in force when. A malformed file is refused with one message that names the file, the
field and the problem.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Annotated, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from contracts.vocabulary import COMMISSIONER_PARTNER_ID, ContactChannel, NeedCategory

PartnerId = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,62}$"),
    Field(description="Stable partner id, lower-case with dashes, e.g. `opferhilfe-sachsen`."),
]
TaskName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,62}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ContactPoint(_Strict):
    """Where a partner is alerted: an e-mail address or a webhook URL (an office, not a person)."""

    channel: ContactChannel
    address: Annotated[str, StringConstraints(min_length=3, max_length=320, strip_whitespace=True)]

    @model_validator(mode="after")
    def _address_fits_channel(self) -> Self:
        if self.channel is ContactChannel.EMAIL:
            local, _, domain = self.address.partition("@")
            if not local or "." not in domain or " " in self.address:
                raise ValueError(f"'{self.address}' is not an e-mail address")
        elif not self.address.startswith(("http://", "https://")):
            raise ValueError(f"'{self.address}' is not an http(s) URL for a webhook")
        return self


class Remit(_Strict):
    """What a partner already does ("Zuständigkeit"): the agreement creates no new remit."""

    categories: list[NeedCategory] = Field(min_length=1)
    tasks: list[TaskName] = Field(default_factory=list)


class PartnerTerms(_Strict):
    """One partner's part of the agreement."""

    id: PartnerId
    name: Annotated[str, StringConstraints(min_length=2, max_length=200)]
    remit: Remit
    primary: ContactPoint
    deputy: ContactPoint
    ack_deadline_minutes: int = Field(gt=0, le=24 * 60)


class FinalEscalation(_Strict):
    """Who is alerted last when the Commissioner's office itself does not answer.

    Not a partner: an outside office (e.g. a ministry's situation centre) that reaches the
    office by phone. Without it the office's own last escalation step would go back to the
    mailbox that did not answer.
    """

    name: Annotated[str, StringConstraints(min_length=2, max_length=200)]
    contact: ContactPoint


class AgreementTerms(_Strict):
    """The whole agreement file."""

    agreement_id: PartnerId
    title: Annotated[str, StringConstraints(min_length=2, max_length=300)]
    label: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        description="The file's own version label, e.g. the date it was signed."
    )
    escalation_step_minutes: int = Field(
        gt=0,
        le=24 * 60,
        description="How long each escalation step (deputy, then Commissioner) waits.",
    )
    partners: list[PartnerTerms] = Field(min_length=1)
    final_escalation: FinalEscalation = Field(
        description="The last escalation step when the Commissioner's office does not answer."
    )

    @field_validator("partners")
    @classmethod
    def _partners_are_unique_and_commissioner_present(
        cls, partners: list[PartnerTerms]
    ) -> list[PartnerTerms]:
        ids = [partner.id for partner in partners]
        duplicates = sorted({pid for pid in ids if ids.count(pid) > 1})
        if duplicates:
            raise ValueError(f"partner ids must be unique; repeated: {', '.join(duplicates)}")
        if COMMISSIONER_PARTNER_ID not in ids:
            raise ValueError(
                f"the Commissioner's office ('{COMMISSIONER_PARTNER_ID}') must be a partner: "
                "it is the last escalation step"
            )
        return partners

    @field_validator("final_escalation")
    @classmethod
    def _final_escalation_is_not_the_office(
        cls, final: FinalEscalation, info: ValidationInfo
    ) -> FinalEscalation:
        # Partners come first in the model, so they are validated (or missing) by now.
        partners: list[PartnerTerms] = info.data.get("partners", [])
        for office in (p for p in partners if p.id == COMMISSIONER_PARTNER_ID):
            mailboxes = (office.primary.address.casefold(), office.deputy.address.casefold())
            if final.contact.address.casefold() in mailboxes:
                raise ValueError(
                    f"'{final.contact.address}' is a contact point of the Commissioner's office "
                    f"('{COMMISSIONER_PARTNER_ID}'); the final escalation must reach someone "
                    "else when the office does not answer"
                )
        return final

    def partner(self, partner_id: str) -> PartnerTerms:
        for partner in self.partners:
            if partner.id == partner_id:
                return partner
        raise KeyError(partner_id)

    def digest(self) -> str:
        """A content hash, independent of formatting and comments in the file."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


class AgreementFileError(ValueError):
    """The agreement file cannot be used; the message names the file, field and problem."""


def describe_validation_error(error: ValidationError) -> list[str]:
    """Each problem as `field.path: message`, in the order pydantic found them."""
    problems = []
    for item in error.errors():
        location = ".".join(
            f"[{part}]" if isinstance(part, int) else str(part) for part in item["loc"]
        ).replace(".[", "[")
        problems.append(f"{location or '(top level)'}: {item['msg']}")
    return problems


def explain_validation_error(error: ValidationError) -> str:
    """Every problem on one line, `a: message; b: message`: what an error line shows."""
    return "; ".join(describe_validation_error(error))


def load_agreement_file(path: Path) -> AgreementTerms:
    """Read and validate an agreement file, or raise `AgreementFileError` saying what is wrong."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AgreementFileError(f"{path}: no such file") from None
    except OSError as error:
        raise AgreementFileError(f"{path}: cannot be read: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise AgreementFileError(f"{path}: not valid TOML: {error}") from None
    try:
        return AgreementTerms.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(_explained(problem) for problem in describe_validation_error(error))
        raise AgreementFileError(f"{path}: {problems}") from None


_MISSING_FINAL_ESCALATION = "final_escalation: Field required"


def _explained(problem: str) -> str:
    """A missing `[final_escalation]` table says what it is for: older files lack it."""
    if problem != _MISSING_FINAL_ESCALATION:
        return problem
    return (
        f"{problem}: add a [final_escalation] table with name and contact (e.g. a ministry's "
        "situation centre); it is alerted when the Commissioner's office itself does not answer"
    )
