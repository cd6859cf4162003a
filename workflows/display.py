"""What the Temporal UI shows of a running incident: its search attributes (phase, kind, region)
and its *Current Details*. Kept in step with the state after every change, and written only when
something changed: each search-attribute upsert is an event in the history.

Neither carries personal data: Temporal stores both unencrypted.
"""

from __future__ import annotations

from collections.abc import Callable

from temporalio import workflow
from temporalio.common import SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from contracts.messages import IncidentDeclaration, IncidentStatus
    from contracts.vocabulary import (
        SEARCH_ATTRIBUTE_KIND,
        SEARCH_ATTRIBUTE_PHASE,
        SEARCH_ATTRIBUTE_REGION,
        Phase,
    )
    from workflows import details

PHASE_KEY = SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_PHASE)
KIND_KEY = SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_KIND)
REGION_KEY = SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_REGION)
KEYS = (PHASE_KEY, KIND_KEY, REGION_KEY)


class Display:
    """The UI's view of one run of an incident."""

    def __init__(self) -> None:
        self._attributes = _current_attributes()  # a continued run inherits them
        self._details: str | None = None

    def show(
        self,
        declaration: IncidentDeclaration,
        phase: Phase,
        status: Callable[[], IncidentStatus] | None,
    ) -> None:
        """Upsert what changed; `status` is None until the partners are known."""
        wanted = {
            PHASE_KEY.name: phase.value,
            KIND_KEY.name: declaration.kind.value,
            REGION_KEY.name: declaration.region.value,
        }
        changed = [
            key.value_set(wanted[key.name])
            for key in KEYS
            if self._attributes.get(key.name) != wanted[key.name]
        ]
        if changed:
            workflow.upsert_search_attributes(changed)
            self._attributes = wanted
        text = details.current_details(status()) if status is not None else None
        if text is not None and text != self._details:
            workflow.set_current_details(text)
            self._details = text


def _current_attributes() -> dict[str, str]:
    attributes = workflow.info().typed_search_attributes
    found = {key.name: attributes.get(key) for key in KEYS}
    return {name: value for name, value in found.items() if value is not None}
