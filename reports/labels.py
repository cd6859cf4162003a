"""Every word of the reflection report, one table per language. German is the default: the
report goes to the partners of a Saxon agreement; English is for guests of a reflection."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from contracts.vocabulary import BERLIN


class Language(StrEnum):
    DE = "de"
    EN = "en"


class ReportFormat(StrEnum):
    MD = "md"
    HTML = "html"
    JSON = "json"


GERMAN: dict[str, str] = {
    "title": "Reflexionsbericht",
    "exercise": "ÜBUNG – diese Lage ist eine Übung, keine echte Großschadenlage; ihre Zahlen "
    "zählen nicht zu den Kennzahlen echter Lagen.",
    "incident": "Lage",
    "declared": "Ausgerufen",
    "as_of": "Stand",
    "phase": "Phase",
    "agreement": "Vereinbarung",
    "revision": "Fassung",
    "alerts": "Alarmierung der Partner",
    "partner": "Partner",
    "deadline": "Frist (Min.)",
    "to_ack": "Bis zur Bestätigung (Min.)",
    "late": "verspätet",
    "escalations": "Eskalationen",
    "delivered": "zugestellt",
    "failed": "Zustellung fehlgeschlagen",
    "not_acknowledged": "nicht bestätigt",
    "yes": "ja",
    "no": "nein",
    "people": "Betroffene",
    "registered": "Registrierte Personen (ohne Dubletten, Gelöschte mitgezählt)",
    "erased": "davon Daten gelöscht",
    "contacted": "Personen mit Erstkontakt",
    "share_contacted": "Anteil erreichter Personen",
    "median_first_contact": "Zeit von Registrierung bis Erstkontakt (Median)",
    "max_first_contact": "Zeit von Registrierung bis Erstkontakt (längste)",
    "referrals": "Verweisungen",
    "sent": "Versandte Verweisungen",
    "in_time": "fristgerecht beantwortet",
    "answered_late": "verspätet beantwortet",
    "unanswered_overdue": "unbeantwortet nach Fristablauf",
    "awaiting": "noch nicht fällig oder vor der Frist beendet",
    "share_in_time": "Anteil fristgerecht beantwortet",
    "needs": "Offene Bedarfe",
    "open_needs": "Offene Bedarfe in offenen Fällen",
    "median_age": "Alter (Median)",
    "oldest": "Ältester offener Bedarf",
    "record": "Dubletten, Einwilligungen, Nachfragen",
    "duplicates_linked": "Dubletten verknüpft (gleicher Name und Geburtstag)",
    "pairs_confirmed": "Mögliche Dubletten bestätigt",
    "pairs_rejected": "Mögliche Dubletten verworfen",
    "pairs_pending": "Mögliche Dubletten offen",
    "consent_withdrawals": "Widerrufene Einwilligungen",
    "follow_ups_overdue": "Überfällige Nachfragen",
    "timeline": "Zeitleiste",
    "when": "Zeitpunkt",
    "event": "Ereignis",
    "timeline_chart": "Registrierte und erreichte Personen (kumuliert) mit den Meilensteinen",
    "registered_line": "registriert",
    "contacted_line": "erreicht (Erstkontakt)",
    "ack_chart": "Minuten bis zur Bestätigung; der Strich ist die Frist",
    "age_chart": "Offene Bedarfe nach Alter",
    "findings": "Erkenntnisse",
    "measures": "Maßnahmen",
    "none_recorded": "keine festgehalten",
    "none": "—",
    "hours": "Std.",
    "days": "Tage",
    "definitions": "Die Kennzahlen sind in docs/procedure.md („Der Reflexionsbericht“) definiert. "
    "Der Bericht enthält keine Namen, Referenzen oder Kontaktdaten von Personen.",
    "Declared": "Lage ausgerufen",
    "AlertAcknowledged": "Alarm bestätigt",
    "PartnerUnreachable": "Partner nicht erreichbar",
    "AcutePhaseClosed": "Akutphase beendet",
    "ReflectionBecameDue": "Reflexion fällig",
    "ReflectionRecorded": "Reflexion festgehalten",
    "age_0": "unter 3 Tage",
    "age_1": "3–6 Tage",
    "age_2": "7–13 Tage",
    "age_3": "14–27 Tage",
    "age_4": "28 Tage und mehr",
    "refusals": "Abgewiesene Handlungen",
    "refusal_kind": "Grund",
    "count": "Anzahl",
    "wrong-phase": "in dieser Phase nicht erlaubt",
    "outside-remit": "außerhalb der Zuständigkeit",
    "consent-missing": "ohne Einwilligung",
    "audit_reads": "Prüfende Zugriffe (Audit)",
    "reader": "Wer",
    "read_what": "Was",
}

ENGLISH: dict[str, str] = {
    "title": "Reflection report",
    "exercise": "EXERCISE – this incident is a drill, not a real mass-casualty incident; its "
    "figures do not count among the KPIs of real incidents.",
    "incident": "Incident",
    "declared": "Declared",
    "as_of": "As of",
    "phase": "Phase",
    "agreement": "Agreement",
    "revision": "version",
    "alerts": "Alerting the partners",
    "partner": "Partner",
    "deadline": "Deadline (min)",
    "to_ack": "To acknowledge (min)",
    "late": "late",
    "escalations": "Escalations",
    "delivered": "delivered",
    "failed": "delivery failed",
    "not_acknowledged": "not acknowledged",
    "yes": "yes",
    "no": "no",
    "people": "Affected people",
    "registered": "People registered (without duplicates, erased people counted)",
    "erased": "of them with data erased",
    "contacted": "People with a first contact",
    "share_contacted": "Share of people reached",
    "median_first_contact": "Time from registration to first contact (median)",
    "max_first_contact": "Time from registration to first contact (longest)",
    "referrals": "Referrals",
    "sent": "Referrals sent",
    "in_time": "answered in time",
    "answered_late": "answered late",
    "unanswered_overdue": "unanswered after the deadline",
    "awaiting": "not due yet or ended before the deadline",
    "share_in_time": "Share answered in time",
    "needs": "Open needs",
    "open_needs": "Open needs in open cases",
    "median_age": "Age (median)",
    "oldest": "Oldest open need",
    "record": "Duplicates, consent, follow-ups",
    "duplicates_linked": "Duplicates linked (same name and date of birth)",
    "pairs_confirmed": "Likely duplicates confirmed",
    "pairs_rejected": "Likely duplicates rejected",
    "pairs_pending": "Likely duplicates pending",
    "consent_withdrawals": "Consents withdrawn",
    "follow_ups_overdue": "Follow-ups overdue",
    "timeline": "Timeline",
    "when": "Time",
    "event": "Event",
    "timeline_chart": "People registered and reached (cumulative) with the milestones",
    "registered_line": "registered",
    "contacted_line": "reached (first contact)",
    "ack_chart": "Minutes to acknowledge; the tick is the deadline",
    "age_chart": "Open needs by age",
    "findings": "Findings",
    "measures": "Measures",
    "none_recorded": "none recorded",
    "none": "—",
    "hours": "h",
    "days": "days",
    "definitions": "The figures are defined in docs/procedure.md (“The reflection report”). "
    "The report holds no names, references or contact data of people.",
    "Declared": "Incident declared",
    "AlertAcknowledged": "Alert acknowledged",
    "PartnerUnreachable": "Partner unreachable",
    "AcutePhaseClosed": "Acute phase closed",
    "ReflectionBecameDue": "Reflection due",
    "ReflectionRecorded": "Reflection recorded",
    "age_0": "under 3 days",
    "age_1": "3–6 days",
    "age_2": "7–13 days",
    "age_3": "14–27 days",
    "age_4": "28 days or more",
    "refusals": "Actions refused",
    "refusal_kind": "Reason",
    "count": "Count",
    "wrong-phase": "not allowed in this phase",
    "outside-remit": "outside the remit",
    "consent-missing": "without consent",
    "audit_reads": "Audit reads",
    "reader": "Who",
    "read_what": "What",
}

WORDS: dict[Language, dict[str, str]] = {Language.DE: GERMAN, Language.EN: ENGLISH}


def number(value: float | None, language: Language, digits: int = 1) -> str:
    """`48,5` in German, `48.5` in English; `—` for no value."""
    if value is None:
        return WORDS[language]["none"]
    text = f"{value:,.{digits}f}"
    if language is Language.DE:
        text = text.replace(",", "\u2009").replace(".", ",")
    return text


def percent(share: float | None, language: Language) -> str:
    """`33 %` in German, `33%` in English."""
    if share is None:
        return WORDS[language]["none"]
    return f"{share * 100:.0f} %" if language is Language.DE else f"{share * 100:.0f}%"


def moment(at: datetime, language: Language) -> str:
    """A time in Europe/Berlin, as a reader of that language writes it."""
    local = at.astimezone(BERLIN)
    if language is Language.DE:
        return local.strftime("%d.%m.%Y, %H:%M Uhr")
    return local.strftime("%Y-%m-%d %H:%M (Europe/Berlin)")


def day_text(day: date, language: Language) -> str:
    return day.strftime("%d.%m.%Y") if language is Language.DE else day.isoformat()
