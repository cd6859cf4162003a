"""The README and the examples say what the code does: a renamed setting or update fails here."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from temporalio.workflow import _Definition

from contracts.messages import IncidentDeclaration
from settings import Settings
from workflows.incident_response import IncidentResponse

REPO_ROOT = Path(__file__).resolve().parent.parent
README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
TEST_ONLY_VARIABLES = {"LOTSE_RECORD_HISTORIES"}


def test_the_readme_opens_with_the_two_commands() -> None:
    first_lines = README.splitlines()[:6]
    assert any(line.startswith("make run") for line in first_lines)
    assert any(line.startswith("make test") for line in first_lines)


def test_every_setting_is_documented_and_every_documented_variable_exists() -> None:
    settings = {f"LOTSE_{name.upper()}" for name in Settings.model_fields}
    documented = set(re.findall(r"`(LOTSE_[A-Z_]+)`", README)) - TEST_ONLY_VARIABLES
    assert settings - documented == set(), "settings missing from the README"
    assert documented - settings == set(), "README names variables that no setting reads"


def test_every_update_and_query_of_the_workflow_is_documented() -> None:
    definition = _Definition.from_class(IncidentResponse)
    assert definition is not None
    assert definition.name == "IncidentResponse"
    for name in [*definition.updates, *definition.queries]:
        assert f"`{name}`" in README, f"{name} is not in the README"


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "examples").glob("declaration*.json")))
def test_the_example_declarations_are_valid(path: Path) -> None:
    IncidentDeclaration.model_validate(json.loads(path.read_text(encoding="utf-8")))
