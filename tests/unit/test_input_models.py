"""The declaration and the updates take exact types and bounded sizes: a count is a whole number,
a title is text, and no input can grow past what Temporal carries comfortably."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from pydantic_core import to_json

from contracts.agreement import describe_validation_error, explain_validation_error
from contracts.messages import (
    AcknowledgeAlert,
    AssignNeedCategory,
    CallOff,
    CloseAcutePhase,
    IncidentDeclaration,
    NeedReport,
    RecordReflection,
    ReportNeeds,
)
from contracts.text import (
    LOCATION_MAX,
    PARAGRAPH_MAX,
    REFLECTION_CHARS_MAX,
    REFLECTION_ITEMS_MAX,
    REMARK_MAX,
    TITLE_MAX,
)
from contracts.vocabulary import NeedCategory, Region
from tests.workflow.support import declaration

ACTOR = {"partner_id": "weisser-ring", "staff_ref": "lv-1"}

UPDATE_BOUND = 64 * 1024
"""The largest JSON one input may encode to: 1/32 of Temporal's 2 MB payload limit."""

# The widest character UTF-8 has (4 bytes), and valid in every free-text field.
WIDE = "𝄞"


def problems(model: type[BaseModel], data: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(data)
    return describe_validation_error(refused.value)


def need(count: Any) -> dict[str, Any]:
    return {"category": "legal", "region": "dresden", "count": count}


# --- strict types -----------------------------------------------------------------------------


@pytest.mark.parametrize("count", ["7", True, 3.0], ids=["string", "boolean", "float"])
def test_a_count_that_is_not_a_whole_number_is_refused(count: Any) -> None:
    assert problems(ReportNeeds, {"actor": ACTOR, "needs": [need(count)]}) == [
        "needs[0].count: Input should be a valid integer"
    ]


@pytest.mark.parametrize("count", ['"7"', "true", "3.0"])
def test_a_count_in_json_that_is_not_a_whole_number_is_refused(count: str) -> None:
    # The path an update takes: Temporal's converter validates the JSON payload.
    document = (
        '{"actor": {"partner_id": "weisser-ring", "staff_ref": "lv-1"}, '
        f'"needs": [{{"category": "legal", "region": "dresden", "count": {count}}}]}}'
    )
    with pytest.raises(ValidationError) as refused:
        ReportNeeds.model_validate_json(document)
    assert describe_validation_error(refused.value) == [
        "needs[0].count: Input should be a valid integer"
    ]


def test_an_explained_validation_error_names_every_problem_on_one_line() -> None:
    with pytest.raises(ValidationError) as refused:
        ReportNeeds.model_validate({"actor": ACTOR, "needs": [need("7"), need(True)]})
    assert explain_validation_error(refused.value) == (
        "needs[0].count: Input should be a valid integer; "
        "needs[1].count: Input should be a valid integer"
    )


def test_a_whole_count_is_accepted_from_json_and_from_python() -> None:
    document = json.dumps({"actor": ACTOR, "needs": [need(7)]})

    assert ReportNeeds.model_validate_json(document).needs[0].count == 7
    assert ReportNeeds.model_validate({"actor": ACTOR, "needs": [need(7)]}).needs[0].count == 7


@pytest.mark.parametrize("estimate", ["150", True, 150.0])
def test_an_estimate_of_the_affected_that_is_not_a_whole_number_is_refused(estimate: Any) -> None:
    assert problems(IncidentDeclaration, declaration(estimated_affected=estimate)) == [
        "estimated_affected: Input should be a valid integer"
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [("title", 12345), ("location", 7.5), ("title", True), ("title", b"Anschlag")],
)
def test_a_number_or_bytes_is_no_text(field: str, value: Any) -> None:
    assert problems(IncidentDeclaration, declaration(**{field: value})) == [
        f"{field}: Input should be a valid string"
    ]


def test_a_deadline_is_a_duration_not_a_flag() -> None:
    assert problems(IncidentDeclaration, declaration(deadlines={"ack": True})) == [
        "deadlines.ack: a duration is ISO 8601 (e.g. PT10M) or a number of seconds, "
        "not true or false"
    ]


def test_deadlines_still_take_iso_durations_and_seconds_and_times_still_take_iso_text() -> None:
    # The workflow validates the declaration from a dict decoded from JSON: dates, enums and
    # durations arrive as strings and numbers, so the model as a whole is not strict.
    accepted = IncidentDeclaration.model_validate(
        declaration(deadlines={"ack": "PT2M", "escalation_step": 60, "reflection_after": 1.5})
    )

    assert accepted.deadlines.ack == timedelta(minutes=2)
    assert accepted.deadlines.escalation_step == timedelta(seconds=60)
    assert accepted.deadlines.reflection_after == timedelta(seconds=1.5)
    assert accepted.occurred_at.isoformat() == "2026-11-28T17:05:00+01:00"


# --- bounded sizes ----------------------------------------------------------------------------


def test_a_reflection_with_too_many_findings_is_refused_naming_the_limit() -> None:
    findings = [f"Erkenntnis {n}" for n in range(REFLECTION_ITEMS_MAX + 1)]

    assert problems(RecordReflection, {"actor": ACTOR, "findings": findings}) == [
        f"findings: List should have at most {REFLECTION_ITEMS_MAX} items after validation, "
        f"not {REFLECTION_ITEMS_MAX + 1}"
    ]


def test_a_finding_longer_than_a_paragraph_is_refused_naming_the_limit() -> None:
    assert problems(
        RecordReflection, {"actor": ACTOR, "findings": ["x" * (PARAGRAPH_MAX + 1)]}
    ) == [f"findings[0]: String should have at most {PARAGRAPH_MAX} characters"]


def test_the_600_findings_of_the_issue_are_refused() -> None:
    refused = problems(RecordReflection, {"actor": ACTOR, "findings": ["x" * 2000] * 600})

    assert refused[0] == (
        f"findings: List should have at most {REFLECTION_ITEMS_MAX} items after validation, not 600"
    )


def test_findings_and_measures_together_are_bounded() -> None:
    half = REFLECTION_CHARS_MAX // 2 // PARAGRAPH_MAX
    findings = ["f" * PARAGRAPH_MAX] * half
    measures = ["m" * PARAGRAPH_MAX] * half

    accepted = RecordReflection.model_validate(
        {"actor": ACTOR, "findings": findings, "measures": measures}
    )
    assert len(accepted.findings) + len(accepted.measures) == 2 * half

    assert problems(
        RecordReflection, {"actor": ACTOR, "findings": findings, "measures": [*measures, "mmm"]}
    ) == [
        f"measures: findings and measures together may hold at most {REFLECTION_CHARS_MAX:,} "
        f"characters, not {REFLECTION_CHARS_MAX + 3:,}"
    ]


@pytest.mark.parametrize(
    ("model", "data", "field", "limit"),
    [
        (IncidentDeclaration, declaration(title="x" * (TITLE_MAX + 1)), "title", TITLE_MAX),
        (
            IncidentDeclaration,
            declaration(location="x" * (LOCATION_MAX + 1)),
            "location",
            LOCATION_MAX,
        ),
        (CallOff, {"actor": ACTOR, "reason": "x" * (REMARK_MAX + 1)}, "reason", REMARK_MAX),
        (CloseAcutePhase, {"actor": ACTOR, "note": "x" * (REMARK_MAX + 1)}, "note", REMARK_MAX),
    ],
    ids=["title", "location", "reason", "note"],
)
def test_every_text_field_is_bounded_naming_the_limit(
    model: type[BaseModel], data: dict[str, Any], field: str, limit: int
) -> None:
    assert problems(model, data) == [f"{field}: String should have at most {limit} characters"]


def test_a_needs_report_is_bounded_naming_the_limit() -> None:
    assert problems(ReportNeeds, {"actor": ACTOR, "needs": [need(1)] * 101}) == [
        "needs: List should have at most 100 items after validation, not 101"
    ]


def largest_inputs() -> dict[str, BaseModel]:
    """Each input model at its limits, its text in 4-byte characters: the worst case."""
    actor = {"partner_id": "p" + "-" * 62, "staff_ref": "S" * 64}
    partner_id = "p" * 63
    # Every item filled and every character counted: both lists full, the total at its bound.
    items = 2 * REFLECTION_ITEMS_MAX
    item = WIDE * min(PARAGRAPH_MAX, REFLECTION_CHARS_MAX // items)
    widest_need = NeedReport(
        category=max(NeedCategory, key=lambda c: len(c.value)),
        region=max(Region, key=lambda r: len(r.value)),
        count=100_000,
    )
    return {
        "IncidentDeclaration": IncidentDeclaration.model_validate(
            declaration(
                title=WIDE * TITLE_MAX,
                location=WIDE * LOCATION_MAX,
                declared_by=actor,
                estimated_affected=1_000_000,
                deadlines={"ack": "PT24H", "escalation_step": "PT24H", "reflection_after": "P366D"},
            )
        ),
        "AcknowledgeAlert": AcknowledgeAlert.model_validate(
            {"actor": actor, "partner_id": partner_id, "received_at": "2026-11-28T17:05:00+01:00"}
        ),
        "ReportNeeds": ReportNeeds.model_validate({"actor": actor, "needs": [widest_need] * 100}),
        "AssignNeedCategory": AssignNeedCategory.model_validate(
            {"actor": actor, "category": "psychosocial", "partner_id": partner_id}
        ),
        "CloseAcutePhase": CloseAcutePhase.model_validate(
            {"actor": actor, "note": WIDE * REMARK_MAX}
        ),
        "RecordReflection": RecordReflection.model_validate(
            {
                "actor": actor,
                "findings": [item] * REFLECTION_ITEMS_MAX,
                "measures": [item] * REFLECTION_ITEMS_MAX,
            }
        ),
        "CallOff": CallOff.model_validate({"actor": actor, "reason": WIDE * REMARK_MAX}),
    }


@pytest.mark.parametrize("name", list(largest_inputs()))
def test_every_input_at_its_limits_stays_far_below_temporals_payload_limit(name: str) -> None:
    model = largest_inputs()[name]
    # What Temporal's pydantic converter sends: pydantic_core's JSON of the model.
    size = len(to_json(model))

    assert size < UPDATE_BOUND, f"{name} encodes to {size:,} bytes at its limits"


def test_the_worst_case_reflection_is_the_largest_input_and_fills_most_of_the_bound() -> None:
    # Guards the guard: if the limits were loosened, the reflection would outgrow the bound;
    # if the worst case above were not the worst, it would be much smaller than this.
    sizes = {name: len(to_json(model)) for name, model in largest_inputs().items()}

    assert max(sizes, key=sizes.__getitem__) == "RecordReflection"
    assert sizes["RecordReflection"] > 4 * REFLECTION_CHARS_MAX
