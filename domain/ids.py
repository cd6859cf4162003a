"""Deterministic aggregate ids from natural keys (uuid5): a retried command finds its aggregate."""

from __future__ import annotations

from uuid import UUID, uuid5

LOTSE_NAMESPACE = UUID("6f1c2f0e-4a5b-5d8e-9b61-3c1d7a0e2f44")


def agreement_id(agreement_key: str) -> UUID:
    return uuid5(LOTSE_NAMESPACE, f"agreement/{agreement_key}")


def incident_id(incident_key: str) -> UUID:
    return uuid5(LOTSE_NAMESPACE, f"incident/{incident_key}")


def person_id(incident_key: str, person_ref: str) -> UUID:
    return uuid5(LOTSE_NAMESPACE, f"person/{incident_key}/{person_ref}")


def directory_id(directory_key: str) -> UUID:
    return uuid5(LOTSE_NAMESPACE, f"directory/{directory_key}")


def offer_load_id(offer_id: str) -> UUID:
    return uuid5(LOTSE_NAMESPACE, f"offer-load/{offer_id}")


def roll_id(incident_key: str) -> UUID:
    return uuid5(LOTSE_NAMESPACE, f"roll/{incident_key}")


def meeting_id(meeting_key: str) -> UUID:
    return uuid5(LOTSE_NAMESPACE, f"meeting/{meeting_key}")


def measure_id(measure_key: str) -> UUID:
    return uuid5(LOTSE_NAMESPACE, f"measure/{measure_key}")


def audit_read_id(command_id: str) -> UUID:
    return uuid5(LOTSE_NAMESPACE, f"audit-read/{command_id}")


def drill_id(drill_key: str) -> UUID:
    return uuid5(LOTSE_NAMESPACE, f"drill/{drill_key}")
