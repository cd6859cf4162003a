"""`lotse audit …`: what an auditor and the reflection lead use — whether the record is intact,
what it held at a moment, every step in order, and the reflection report.

The commands live in modules of their own (one per capability) and are attached here, so that
`lotse audit --help` lists them all in one place.
"""

from __future__ import annotations

import typer

from cli import (
    audit_chain,
    audit_reads,
    audit_replay,
    audit_report,
    audit_timeline,
    audit_workflows,
)

app = typer.Typer(
    help="Audit the record: verify it is intact, replay it, its timeline, the reflection report, "
    "who read it."
)
app.command("verify")(audit_chain.verify)
app.command("checkpoint")(audit_chain.checkpoint)
app.command("keys")(audit_chain.keys)
app.command("replay")(audit_replay.replay)
app.command("timeline")(audit_timeline.timeline)
app.command("report")(audit_report.report)
app.command("reads")(audit_reads.reads)
app.command("workflow-replay")(audit_workflows.workflow_replay)
