"""The event-sourced record of Lotse: aggregates, the application service, domain errors.

Imports neither Temporal nor the workflows: testable with no server at all (docs/architecture.md,
*The parts*).
"""
