"""The reflection report that goes with the notice "reflection due" (issue #9): built from the
record by the activity that delivers the notice, as one self-contained German HTML file.

Its figures are taken at the moment the notice was sent (`sent_at` of the step, the same on
every retry and for every partner), so every partner receives the same report, and a retried
delivery sends the same bytes. The last report built is kept: the notice goes to every partner
in turn, and the record is read once for all of them.
"""

from __future__ import annotations

import threading
from datetime import datetime

from activities.messages import Attachment
from domain.application import LotseApplication
from domain.reflection import read_record, reflection_figures
from reports.labels import Language, ReportFormat
from reports.render import render


class ReflectionReports:
    """Builds the report attachment of one incident at one moment; keeps the last one."""

    def __init__(self, app: LotseApplication) -> None:
        self._app = app
        self._lock = threading.Lock()  # activities run in threads
        self._last: tuple[tuple[str, datetime], Attachment] | None = None

    def attachment(self, incident_id: str, as_of: datetime) -> Attachment:
        key = (incident_id, as_of)
        with self._lock:
            if self._last is not None and self._last[0] == key:
                return self._last[1]
            figures = reflection_figures(read_record(self._app, incident_id), as_of)
            built = Attachment(
                filename=f"reflexionsbericht-{incident_id}.html",
                content_type="text/html",
                text=render(figures, ReportFormat.HTML, Language.DE),
            )
            self._last = (key, built)
            return built
