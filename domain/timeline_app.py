"""The application's reads of the timeline (a mixin of `LotseApplication`).

Every read first catches the timeline up with the record (domain/timeline.py), so it answers
with everything recorded before it began. A damaged incident still has a timeline: what could be
read, and `timeline_damages` saying where its streams stop. The timeline is opened on first use:
a process that never reads it never creates it.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import replace
from uuid import UUID

from domain import ids
from domain.errors import DamagedRecordError
from domain.incident import Incident
from domain.projection_app import OpenedOnFirstUse, ProjectionReads
from domain.timeline import TimelineDamage, TimelineProjector, TimelineRow
from domain.timeline_stores import build_timeline


def _open_timeline(app: TimelineMixin) -> TimelineProjector:
    return TimelineProjector(
        build_timeline(app._environment()), app.recorder, app.mapper, app._incident_at
    )


class TimelineMixin(ProjectionReads):
    """Every step of an incident and its people, in record order, from the timeline."""

    _timeline_projector = OpenedOnFirstUse(_open_timeline)

    def close(self) -> None:
        TimelineMixin._timeline_projector.close(self)
        super().close()  # type: ignore[misc]  # the next mixin's or Application.close

    def catch_up_timeline(self) -> int:
        """Bring the timeline up to date with the record; the number of events this call
        applied. Safe to call from several threads and processes at once."""
        return self._timeline().catch_up()

    def timeline(
        self, incident_key: str, partner: str | None = None, phase: str | None = None
    ) -> list[TimelineRow]:
        """The incident's steps and its people's, in record order; with `partner`, the steps
        its staff took or that were recorded on its behalf; with `phase`, those in that phase.
        `IncidentNotFoundError` if the incident was never declared. Steps of a damaged stream
        from its damage on are left out (`timeline_damages`)."""
        projector = self._caught_up(incident_key)
        return projector.store.rows(incident_key, partner=partner, phase=phase)

    def timeline_damages(self, incident_key: str) -> list[TimelineDamage]:
        """Where the timeline of the incident stops for each of its streams (its own, its
        people's) that it could not read on, in record order; [] for an undamaged record."""
        projector = self._caught_up(incident_key)
        found = projector.store.damages(incident_key, ids.incident_id(incident_key))
        # A declaration that could not be read left its stream's incident unknown; found by
        # the incident's id, it is this one.
        return [replace(d, incident_key=d.incident_key or incident_key) for d in found]

    def _caught_up(self, incident_key: str) -> TimelineProjector:
        """The projector, caught up; `IncidentNotFoundError` first if nothing of the incident
        was recorded."""
        with suppress(DamagedRecordError):  # recorded, but damaged: its timeline says where
            self.incident(incident_key)
        projector = self._timeline()
        projector.catch_up()
        return projector

    def _timeline(self) -> TimelineProjector:
        return self._timeline_projector

    def _incident_at(self, incident_id: UUID, version: int) -> Incident:
        return self._aggregate_at(Incident, incident_id, version, "an incident")
