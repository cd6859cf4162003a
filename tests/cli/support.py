"""Helpers for the command-line tests: the environment of a command, running it in-process."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

from typer.testing import CliRunner, Result

from cli.main import app
from tests.workflow.support import REPO_ROOT

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


def invoke(env: Mapping[str, str | None], *args: str, stdin: str | None = None) -> Result:
    """Run `lotse ARGS` in this process, as a user would type it."""
    return CliRunner().invoke(app, list(args), env=env, input=stdin)
