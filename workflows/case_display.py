"""What the Temporal UI shows of a running case: its search attributes (the incident it belongs
to, and whether it is open, escalated or closed) and its *Current Details*. Written only when
something changed; pseudonymous, because Temporal stores both unencrypted.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from contracts.people import NeedStatus
    from contracts.vocabulary import SEARCH_ATTRIBUTE_CASE_INCIDENT, SEARCH_ATTRIBUTE_CASE_STATE
    from workflows import case_details
    from workflows.case_state import CaseState

INCIDENT_KEY = SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_CASE_INCIDENT)
STATE_KEY = SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_CASE_STATE)


def case_state_value(state: CaseState) -> str:
    """`closed`, `escalated` (the office must act) or `open`."""
    if state.closed:
        return "closed"
    if any(need.status is NeedStatus.ESCALATED for need in state.open_needs()):
        return "escalated"
    return "open"


class CaseDisplay:
    """The UI's view of one run of a case."""

    def __init__(self) -> None:
        attributes = workflow.info().typed_search_attributes
        found = {key.name: attributes.get(key) for key in (INCIDENT_KEY, STATE_KEY)}
        self._attributes = {name: value for name, value in found.items() if value is not None}
        self._details: str | None = None

    def show(self, state: CaseState) -> None:
        wanted = {
            INCIDENT_KEY.name: state.registration.incident_id,
            STATE_KEY.name: case_state_value(state),
        }
        changed = [
            key.value_set(wanted[key.name])
            for key in (INCIDENT_KEY, STATE_KEY)
            if self._attributes.get(key.name) != wanted[key.name]
        ]
        if changed:
            workflow.upsert_search_attributes(changed)
            self._attributes = wanted
        text = case_details.current_details(state.status(workflow.info().workflow_id))
        if text != self._details:
            workflow.set_current_details(text)
            self._details = text
