"""Deterministic orchestration of the agreed procedure (docs/procedure.md). No I/O here."""
