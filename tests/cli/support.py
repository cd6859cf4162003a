"""Helpers for the command-line tests: the environment of a command, running it in-process."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

from typer.testing import CliRunner, Result

from cli.main import app
from contracts.messages import IncidentStatus
from settings import Settings
from tests.workflow.support import REPO_ROOT, Stack, eventually

AGREEMENT_FILE = REPO_ROOT / "agreements" / "saxony.toml"
EXAMPLE_DECLARATION = REPO_ROOT / "examples" / "declaration.json"
Lotse = Callable[..., Awaitable[Result]]


def cli_environment(data_dir: Path, **extra: str) -> dict[str, str | None]:
    """`LOTSE_*` for a command: this store, the shipped agreement, a wide console."""
    return {
        "LOTSE_STORE": "sqlite",
        "LOTSE_DATA_DIR": str(data_dir),
        "LOTSE_SQLITE_PATH": None,  # unset: the store lives in the data dir
        "LOTSE_AGREEMENT_FILE": str(AGREEMENT_FILE),
        "COLUMNS": "250",
        **extra,
    }


def invoke(
    env: Mapping[str, str | None],
    *args: str,
    stdin: str | None = None,
    settings: Settings | None = None,
) -> Result:
    """Run `lotse ARGS` in this process, as a user would type it; with `settings`, as the
    invocation's settings instead of those the environment describes."""
    return CliRunner().invoke(app, list(args), env=env, input=stdin, obj=settings)


async def declare(lotse: Lotse, stack: Stack, incident_id: str) -> None:
    """Declare the example incident and wait until every partner has been alerted."""
    result = await lotse("incident", "declare", str(EXAMPLE_DECLARATION), "--id", incident_id)
    assert result.exit_code == 0, result.output
    stack.handles.append(stack.client.get_workflow_handle(incident_id))
    await eventually(
        lambda: alerts_sent(stack, incident_id), lambda sent: sent == 4, what="four alerts"
    )


def alerts_sent(stack: Stack, incident_id: str) -> int:
    if incident_id not in stack.app.incident_keys():
        return 0
    return [entry.event for entry in stack.history(incident_id)].count("AlertSent")


async def status(lotse: Lotse, incident_id: str) -> IncidentStatus:
    """`lotse incident status ID --json`, read back."""
    result = await lotse("incident", "status", incident_id, "--json")
    assert result.exit_code == 0, result.output
    return IncidentStatus.model_validate_json(result.stdout)
