"""Deterministic orchestration of the agreed procedure (DESIGN.md §2). No I/O here."""
