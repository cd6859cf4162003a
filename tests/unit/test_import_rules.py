"""Workflows import no implementation; the CLI does not import the worker process; the
workflow's activity names and the worker's agree.

The workflow runs in Temporal's sandbox and must stay deterministic: it may load the contracts
(message models, vocabulary, activity names) but not the activities, the domain, the settings or
what they pull in (the event store, SMTP, HTTP, PostgreSQL). The CLI builds what it needs through
`bootstrap.py`; `worker.py` is only the worker process's entry point.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from temporalio import activity

from activities.case import CaseActivities
from activities.drill import DrillActivities
from activities.exchange import ExchangeActivities
from activities.incident import IncidentActivities
from activities.notify import Notifier
from bootstrap import build_application
from contracts.activities import INCIDENT_ACTIVITIES
from contracts.case_activities import CASE_ACTIVITIES
from contracts.drill_activities import DRILL_ACTIVITIES
from contracts.exchange_activities import EXCHANGE_ACTIVITIES
from settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOW_MODULES = tuple(
    f"workflows.{path.stem}"
    for path in sorted((REPO_ROOT / "workflows").glob("*.py"))
    if path.stem != "__init__"
)
IMPLEMENTATION_PACKAGES = (
    "activities",
    "domain",
    "eventsourcing",
    "httpx",
    "psycopg",
    "settings",
    "smtplib",
)


def _loaded_by(module: str) -> list[str]:
    """The implementation modules a fresh interpreter holds after importing `module`."""
    script = (
        f"import {module}, sys; "
        f"print('\\n'.join(sorted(m for m in sys.modules "
        f"if m.split('.')[0] in {set(IMPLEMENTATION_PACKAGES)!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.split()


def test_importing_the_workflow_loads_no_activity_domain_settings_or_io_library() -> None:
    loaded = {module: _loaded_by(module) for module in WORKFLOW_MODULES}
    assert loaded == {module: [] for module in WORKFLOW_MODULES}


def _imported_roots(path: Path) -> Iterator[tuple[str, list[str]]]:
    """(top-level package, full names) of every import in `path`, lazy ones inside functions
    too (which a fresh interpreter would not run)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            yield name.split(".")[0], names


def test_the_workflow_sources_import_only_contracts_workflows_and_libraries() -> None:
    for path in sorted((REPO_ROOT / "workflows").glob("*.py")):
        for root, names in _imported_roots(path):
            assert root not in IMPLEMENTATION_PACKAGES, f"{path.name} imports {names}"


def test_the_cli_does_not_import_the_worker_process() -> None:
    """The CLI takes its builders from `bootstrap.py`; `worker.py` may change as the worker
    process needs without touching a command."""
    sources = sorted((REPO_ROOT / "cli").glob("*.py"))
    assert sources, "no CLI sources found"
    for path in sources:
        for root, names in _imported_roots(path):
            assert root != "worker", f"cli/{path.name} imports {names}"


ALL_ACTIVITIES = (
    *INCIDENT_ACTIVITIES,
    *CASE_ACTIVITIES,
    *EXCHANGE_ACTIVITIES,
    *DRILL_ACTIVITIES,
)


def _registered(settings: Settings) -> list[tuple[str, Any]]:
    """The worker's activities (as `bootstrap.build_worker` registers them) with their types."""
    app = build_application(settings)
    try:
        notifier = Notifier(settings)
        functions = [
            *IncidentActivities(app, notifier, settings).all(),
            *CaseActivities(app, notifier, settings).all(),
            *ExchangeActivities(app, notifier, settings).all(),
            *DrillActivities(app, notifier, settings).all(),
        ]
    finally:
        app.close()
    registered = []
    for fn in functions:
        # The definition `@activity.defn` attaches is what the worker reads the name from; the
        # SDK offers no public accessor for it.
        name = activity._Definition.must_from_callable(fn).name
        assert name is not None, f"{fn.__name__} is registered as a dynamic activity"
        registered.append((name, fn))
    return registered


def test_the_worker_registers_exactly_the_activities_the_contracts_name(
    sqlite_settings: Settings,
) -> None:
    names = [name for name, _ in _registered(sqlite_settings)]
    assert sorted(names) == sorted(spec.name for spec in ALL_ACTIVITIES)


def test_each_registered_activity_takes_and_returns_the_models_its_contract_names(
    sqlite_settings: Settings,
) -> None:
    registered = dict(_registered(sqlite_settings))
    for spec in ALL_ACTIVITIES:
        hints = typing.get_type_hints(registered[spec.name])
        assert hints["data"] is spec.input_type, spec.name
        expected = type(None) if spec.result_type is None else spec.result_type
        assert hints["return"] is expected, spec.name


def test_every_activity_type_in_the_recorded_histories_is_named_in_the_contracts() -> None:
    """Renaming an activity would break the replay of the incidents that are running."""
    recorded: set[str] = set()
    for path in sorted((REPO_ROOT / "tests" / "histories").glob("*.json")):
        for event in json.loads(path.read_text(encoding="utf-8"))["events"]:
            scheduled = event.get("activityTaskScheduledEventAttributes")
            if scheduled:
                recorded.add(scheduled["activityType"]["name"])
    assert recorded, "the committed histories schedule no activity"
    assert recorded <= {spec.name for spec in ALL_ACTIVITIES}
