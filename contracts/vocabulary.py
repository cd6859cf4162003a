"""The closed lists of the procedure: regions, incident kinds, need categories, phases, channels.

One module, imported by the domain and the workflows alike, so that a value the workflow accepts
is a value the domain accepts.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
"""Times shown to people are Berlin wall-clock times; loaded here, outside the workflow sandbox."""

# Every time shown to a person, by its reader. The formats differ on purpose: a German letter
# writes "Uhr", a terminal column sorts and lines up best with ISO digits and seconds.


def ui_time(moment: datetime) -> str:
    """`05.12.2026 17:40`: the texts the workflow writes (the UI's current details, open items)."""
    return f"{moment.astimezone(BERLIN):%d.%m.%Y %H:%M}"


def mail_time(moment: datetime) -> str:
    """`28.11.2026, 21:15 Uhr`: the German messages to partners; refuses naive times."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no time zone; Lotse only shows aware times")
    return moment.astimezone(BERLIN).strftime("%d.%m.%Y, %H:%M Uhr")


def cli_time(moment: datetime | None) -> str:
    """`2026-11-28 21:15:00`: the command line's tables and lines, or `—` for no time."""
    if moment is None:
        return "—"
    return moment.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M:%S")


class Region(StrEnum):
    """Saxony's 13 districts and district-free cities, or an attack outside Saxony."""

    CHEMNITZ = "chemnitz"
    DRESDEN = "dresden"
    LEIPZIG = "leipzig"
    BAUTZEN = "bautzen"
    ERZGEBIRGSKREIS = "erzgebirgskreis"
    GOERLITZ = "goerlitz"
    LANDKREIS_LEIPZIG = "landkreis-leipzig"
    MEISSEN = "meissen"
    MITTELSACHSEN = "mittelsachsen"
    NORDSACHSEN = "nordsachsen"
    SAECHSISCHE_SCHWEIZ_OSTERZGEBIRGE = "saechsische-schweiz-osterzgebirge"
    VOGTLANDKREIS = "vogtlandkreis"
    ZWICKAU = "zwickau"
    OUTSIDE_SAXONY = "outside-saxony"


REGION_LABELS_DE: dict[Region, str] = {
    Region.CHEMNITZ: "Chemnitz",
    Region.DRESDEN: "Dresden",
    Region.LEIPZIG: "Leipzig",
    Region.BAUTZEN: "Landkreis Bautzen",
    Region.ERZGEBIRGSKREIS: "Erzgebirgskreis",
    Region.GOERLITZ: "Landkreis Görlitz",
    Region.LANDKREIS_LEIPZIG: "Landkreis Leipzig",
    Region.MEISSEN: "Landkreis Meißen",
    Region.MITTELSACHSEN: "Landkreis Mittelsachsen",
    Region.NORDSACHSEN: "Landkreis Nordsachsen",
    Region.SAECHSISCHE_SCHWEIZ_OSTERZGEBIRGE: "Landkreis Sächsische Schweiz-Osterzgebirge",
    Region.VOGTLANDKREIS: "Vogtlandkreis",
    Region.ZWICKAU: "Landkreis Zwickau",
    Region.OUTSIDE_SAXONY: "außerhalb Sachsens",
}


class IncidentKind(StrEnum):
    """What kind of attack triggered the procedure."""

    TERRORIST = "terrorist"
    EXTREMIST = "extremist"
    OTHER = "other"


INCIDENT_KIND_LABELS_DE: dict[IncidentKind, str] = {
    IncidentKind.TERRORIST: "terroristischer Anschlag",
    IncidentKind.EXTREMIST: "extremistische Straftat",
    IncidentKind.OTHER: "sonstige Großschadenlage",
}


class NeedCategory(StrEnum):
    """The needs catalogue, at category level."""

    PSYCHOSOCIAL = "psychosocial"
    MEDICAL = "medical"
    LEGAL = "legal"
    FINANCIAL = "financial"
    PRACTICAL = "practical"
    INFORMATION = "information"
    LANGUAGE_CULTURE_RELIGION = "language-culture-religion"
    DEATH_RELATED = "death-related"
    SAFETY_MEDIA = "safety-media"
    REMEMBRANCE = "remembrance"


NEED_CATEGORY_LABELS_DE: dict[NeedCategory, str] = {
    NeedCategory.PSYCHOSOCIAL: "psychosoziale Unterstützung",
    NeedCategory.MEDICAL: "medizinische Versorgung / Rehabilitation",
    NeedCategory.LEGAL: "rechtliche Unterstützung",
    NeedCategory.FINANCIAL: "finanzielle Hilfen",
    NeedCategory.PRACTICAL: "praktische / behördliche Hilfe",
    NeedCategory.INFORMATION: "Information",
    NeedCategory.LANGUAGE_CULTURE_RELIGION: "Sprache, Kultur, Religion",
    NeedCategory.DEATH_RELATED: "Unterstützung im Todesfall",
    NeedCategory.SAFETY_MEDIA: "Schutz und Medien",
    NeedCategory.REMEMBRANCE: "Gedenken",
}


class Phase(StrEnum):
    """Phases of one incident; also the values of the `IncidentPhase` search attribute."""

    ALERTING = "alerting"
    COORDINATING = "coordinating"
    AWAITING_REFLECTION = "awaiting-reflection"
    REFLECTION_DUE = "reflection-due"
    CLOSED = "closed"
    CALLED_OFF = "called-off"


PHASE_LABELS_DE: dict[Phase, str] = {
    Phase.ALERTING: "Alarmierung läuft",
    Phase.COORDINATING: "Bedarfsabstimmung",
    Phase.AWAITING_REFLECTION: "Akutphase beendet, Reflexion geplant",
    Phase.REFLECTION_DUE: "Reflexion fällig",
    Phase.CLOSED: "abgeschlossen",
    Phase.CALLED_OFF: "abgebrochen",
}

FINAL_PHASES: frozenset[Phase] = frozenset({Phase.CLOSED, Phase.CALLED_OFF})
NEEDS_OPEN_PHASES: frozenset[Phase] = frozenset({Phase.ALERTING, Phase.COORDINATING})
"""Needs may be reported and assigned until the acute phase is closed."""
REFLECTION_PHASES: frozenset[Phase] = frozenset({Phase.AWAITING_REFLECTION, Phase.REFLECTION_DUE})
"""The reflection may be recorded once the acute phase is closed, also before it is due."""


class ActorChannel(StrEnum):
    """How a step reached Lotse: who typed it where, or a timer of the system itself."""

    UI = "ui"
    CLI = "cli"
    PHONE = "phone"
    SYSTEM = "system"


class ContactChannel(StrEnum):
    """How a partner's contact point is reached."""

    EMAIL = "email"
    WEBHOOK = "webhook"


class EscalationStep(StrEnum):
    """Who is alerted, in order, while a partner has not acknowledged.

    `primary` and `deputy` are the partner's own contact points; `commissioner` is the
    Commissioner's office, or the agreement's final escalation contact where that would reach a
    contact point that has just not answered (always so for the office's own alert).
    """

    PRIMARY = "primary"
    DEPUTY = "deputy"
    COMMISSIONER = "commissioner"


class NotificationPurpose(StrEnum):
    """Why a message is sent."""

    ALERT = "alert"
    ESCALATION = "escalation"
    REFLECTION_DUE = "reflection-due"
    ALL_CLEAR = "all-clear"
    """The incident was called off: everyone who was alerted hears it ("Entwarnung")."""


class AlertState(StrEnum):
    """Where one partner's alert stands."""

    PENDING = "pending"
    ACKNOWLEDGED = "acknowledged"
    ESCALATED = "escalated"
    UNDELIVERABLE = "undeliverable"
    """Every contact of the ladder was tried and no message reached any of them: Lotse keeps
    trying. Not the partner's silence, and not settled."""
    UNREACHABLE = "unreachable"
    """A message reached the partner's contacts and nobody answered before the last deadline."""


COMMISSIONER_PARTNER_ID = "opferbeauftragte"
"""The Commissioner's office: last escalation step for every other partner."""

SEARCH_ATTRIBUTE_PHASE = "IncidentPhase"
SEARCH_ATTRIBUTE_KIND = "IncidentKind"
SEARCH_ATTRIBUTE_REGION = "IncidentRegion"
SEARCH_ATTRIBUTE_CASE_INCIDENT = "CaseIncident"
"""On each `VictimCase`: the incident it belongs to (the UI lists an incident's cases with it)."""
SEARCH_ATTRIBUTE_CASE_STATE = "CaseState"
"""On each `VictimCase`: open, escalated (the office must act) or closed."""
SEARCH_ATTRIBUTE_NAMES: tuple[str, ...] = (
    SEARCH_ATTRIBUTE_PHASE,
    SEARCH_ATTRIBUTE_KIND,
    SEARCH_ATTRIBUTE_REGION,
    SEARCH_ATTRIBUTE_CASE_INCIDENT,
    SEARCH_ATTRIBUTE_CASE_STATE,
)

TASK_QUEUE = "victim-support"
INCIDENT_WORKFLOW_TYPE = "IncidentResponse"
VICTIM_CASE_WORKFLOW_TYPE = "VictimCase"
CASE_ID_SEPARATOR = "--"


def case_workflow_id(incident_id: str, person_ref: str) -> str:
    """The id of a person's `VictimCase`: `2026-12-05-dresden--DD-0042`. Derived, so that a
    person registered twice for one incident finds the case that exists."""
    return f"{incident_id}{CASE_ID_SEPARATOR}{person_ref}"


INCIDENT_CONTINUING = "IncidentContinuing"
"""Type of the refusal of an update that arrives while an incident hands over to its next run
(continue-as-new): nothing was recorded, and the same update sent again lands on the new run."""

DAMAGED_RECORD = "DamagedRecord"
"""Type of the failure of a step whose record cannot be read (a version missing, a state that
does not decode): final, never retried; the message names the stream and the version."""
