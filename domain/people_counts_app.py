"""The application's reads of the people view (a mixin of `LotseApplication`): how many people an
incident has and where their cases stand, and what is overdue.

Every read first catches the view up with the record (domain/people_view.py), so it answers
with everything recorded before it began; when the worker keeps the view current in the
background, that costs one query. The view is opened on first use: commands that never count
people never create it.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from contracts.case_rules import OverdueItem
from contracts.people_counts import IncidentPeople
from domain.people_summary import count, overdue_of
from domain.people_view import PeopleProjector
from domain.people_view_stores import build_people_view
from domain.person import AffectedPerson
from domain.projection_app import OpenedOnFirstUse, ProjectionReads


def _open_people(app: PeopleViewMixin) -> PeopleProjector:
    return PeopleProjector(
        build_people_view(app._environment()),
        app.recorder,
        app.mapper,
        app.repository,
        app._person_at,
    )


class PeopleViewMixin(ProjectionReads):
    """Counts and overdue items of an incident's people, read from the people view."""

    _people_projector = OpenedOnFirstUse(_open_people)

    def close(self) -> None:
        PeopleViewMixin._people_projector.close(self)
        super().close()  # type: ignore[misc]  # the next mixin's or Application.close

    def catch_up_people(self) -> int:
        """Bring the people view up to date with the record; the number of person events this
        call applied. Safe to call from several threads and processes at once."""
        return self._people().catch_up()

    def people_counts(self, incident_key: str, now: datetime) -> IncidentPeople:
        """How many people the incident has by involvement, their needs by category and
        status, their referrals by status, and what is overdue at `now` (oldest first)."""
        self.incident(incident_key)  # IncidentNotFoundError if not declared
        projector = self._people()
        projector.catch_up()
        return count(incident_key, projector.store.rows(incident_key), now)

    def overdue(self, incident_key: str, now: datetime) -> list[OverdueItem]:
        """Every open need or live referral of the incident's people due before `now`,
        oldest first (equal due dates in the order of registration)."""
        projector = self._people()
        projector.catch_up()
        return overdue_of(projector.store.due_rows(incident_key, now), now)

    def _people(self) -> PeopleProjector:
        return self._people_projector

    def _person_at(self, person_id: UUID, version: int) -> AffectedPerson:
        return self._aggregate_at(AffectedPerson, person_id, version, "a person")
