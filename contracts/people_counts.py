"""How many people an incident has, and where their cases stand: counts only, never a name.

Read from the record's projection of the person events (domain/people_view.py), not from the
incident workflow: `lotse incident status` prints them and the incident's UI details show them.
Pseudonymous throughout: the overdue items name a person only by reference.
"""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.case_rules import OverdueItem
from contracts.people import Involvement, NeedStatus, ReferralStatus
from contracts.vocabulary import NeedCategory


class PeopleCounts(BaseModel):
    """The counts of an incident's people. Every mapping lists only what occurs, in the order
    of its vocabulary; everybody registered is counted, closed and erased cases included."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    total: int = Field(description="People registered for the incident.")
    closed: int = Field(description="Of them, cases closed (for any reason, erasure included).")
    erased: int = Field(description="Of them, people whose personal data was erased.")
    by_involvement: dict[Involvement, int]
    needs: dict[NeedCategory, dict[NeedStatus, int]] = Field(
        description="Needs per category, by where each stands."
    )
    referrals: dict[ReferralStatus, int] = Field(
        description="Referrals by their status now, ended ones included."
    )
    overdue: int = Field(description="Open needs and live referrals past their due date.")
    oldest_overdue_at: AwareDatetime | None = None


class IncidentPeople(PeopleCounts):
    """`PeopleCounts` of one incident at `as_of`, with the overdue items oldest first."""

    incident_id: str
    as_of: AwareDatetime = Field(description="The moment against which due dates were compared.")
    overdue_items: list[OverdueItem]

    def counts(self) -> PeopleCounts:
        """The counts alone (what the incident workflow keeps: small, no references)."""
        return PeopleCounts.model_validate(self.model_dump(include=set(PeopleCounts.model_fields)))


class PeopleCountsRequest(BaseModel):
    """What the incident workflow asks the record for: its people's counts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    incident_id: str


class PeopleCountsRead(BaseModel):
    """The counts, and after how many seconds the workflow is to read them again (a setting
    of the worker, `LOTSE_PEOPLE_COUNTS_REFRESH_SECONDS`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    counts: PeopleCounts
    refresh_seconds: int = Field(ge=1)
