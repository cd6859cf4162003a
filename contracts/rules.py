"""The procedure's rules that the workflow and the record both enforce, written once.

Which action each phase allows, and that a partner is only given need categories within its
remit. The workflow refuses an update with these words before anything is written; the domain
refuses the same command with the same words, so an operator reads one sentence whichever side
said no. Pure functions: they run inside Temporal's workflow sandbox as well.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType

from contracts.vocabulary import (
    FINAL_PHASES,
    NEEDS_OPEN_PHASES,
    PHASE_LABELS_DE,
    REFLECTION_PHASES,
    Phase,
)


class Action(StrEnum):
    """A step of the procedure that only some phases allow."""

    ACKNOWLEDGE = "acknowledge"
    REPORT_NEEDS = "report-needs"
    ASSIGN = "assign"
    CLOSE_ACUTE = "close-acute"
    MARK_REFLECTION_DUE = "mark-reflection-due"
    RECORD_REFLECTION = "record-reflection"
    CALL_OFF = "call-off"


ALLOWED_PHASES: Mapping[Action, frozenset[Phase]] = MappingProxyType(
    {
        Action.ACKNOWLEDGE: NEEDS_OPEN_PHASES | REFLECTION_PHASES,
        Action.REPORT_NEEDS: NEEDS_OPEN_PHASES,
        Action.ASSIGN: NEEDS_OPEN_PHASES,
        Action.CLOSE_ACUTE: frozenset({Phase.COORDINATING}),
        Action.MARK_REFLECTION_DUE: frozenset({Phase.AWAITING_REFLECTION}),
        Action.RECORD_REFLECTION: REFLECTION_PHASES,
        Action.CALL_OFF: frozenset(Phase) - FINAL_PHASES,
    }
)
"""The phases in which each action is allowed; read-only, so nobody widens it at run time."""

ACTION_WORDS: Mapping[Action, str] = MappingProxyType(
    {
        Action.ACKNOWLEDGE: "acknowledge an alert",
        Action.REPORT_NEEDS: "report needs",
        Action.ASSIGN: "assign a need category",
        Action.CLOSE_ACUTE: "close the acute phase",
        Action.MARK_REFLECTION_DUE: "mark the reflection as due",
        Action.RECORD_REFLECTION: "record the reflection",
        Action.CALL_OFF: "call off the incident",
    }
)
"""How the refusal names each action, after "cannot"."""


def phase_problem(action: Action, phase: Phase | str) -> str | None:
    """Why `action` is not allowed in `phase`, in the operator's words; None if it is allowed."""
    current = Phase(phase)
    allowed = ALLOWED_PHASES[action]
    if current in allowed:
        return None
    allowed_words = ", ".join(sorted(allowed))
    return (
        f"cannot {ACTION_WORDS[action]} in phase '{current}' ({PHASE_LABELS_DE[current]}); "
        f"allowed in: {allowed_words}"
    )


def remit_problem(category: str, partner_id: str, categories: Iterable[str]) -> str | None:
    """Why `partner_id`, whose remit is `categories`, cannot be given `category`; None if it can.

    The agreement creates no new responsibilities: a partner only takes what its remit covers.
    """
    covered = [str(c) for c in categories]
    if str(category) in covered:
        return None
    return (
        f"'{category}' is outside the remit of '{partner_id}' (covers: {', '.join(covered)}); "
        "the agreement creates no new responsibilities"
    )
