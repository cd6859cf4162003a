"""Keeps docker-compose.yml (the production shape) honest without a Docker engine.

The file is only parsed: the names it hands the worker must be `settings.Settings` fields, the
search attributes it registers must be the vocabulary's, and the services must point at each
other. Renaming a setting, a service or a search attribute without the compose file fails here.
"""

from __future__ import annotations

import itertools
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts.vocabulary import SEARCH_ATTRIBUTE_NAMES, TASK_QUEUE
from settings import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "Dockerfile"

SETTINGS_ENV_PREFIX = "LOTSE_"
WORKER = "worker"
EVENT_STORE = "eventstore-db"
TEMPORAL_PORT = "7233"

# `${NAME:-default}`, `${NAME-default}`, `${NAME:?message}`, `${NAME?message}`, `${NAME}`
INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def load_compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def services() -> dict[str, dict[str, Any]]:
    found = load_compose()["services"]
    assert isinstance(found, dict)
    return found


def environment(service: str) -> dict[str, str]:
    """A service's environment as a mapping, whether written as a mapping or as a list."""
    raw = services()[service].get("environment", {})
    if isinstance(raw, list):
        pairs = (str(item).partition("=") for item in raw)
        return {key: value for key, _, value in pairs}
    assert isinstance(raw, dict)
    return {str(key): "" if value is None else str(value) for key, value in raw.items()}


def interpolate(value: str, required: str = "required-value") -> str:
    """Compose's interpolation as far as this file uses it: defaults, or `required` for `:?`."""

    def replace(match: re.Match[str]) -> str:
        if match["op"] is None:
            pytest.fail(f"{match[0]} has no default: write ${{{match['name']}:-…}}")
        return required if match["op"].endswith("?") else match["arg"]

    return INTERPOLATION.sub(replace, value).replace("$$", "$")


def image(service: str) -> str:
    return str(services()[service].get("image", ""))


def services_with_image(repository: str) -> list[str]:
    return [name for name in services() if image(name).partition(":")[0] == repository]


def temporal_service() -> str:
    [name] = services_with_image("temporalio/server")
    return name


def search_attribute_step() -> str:
    """The one service whose command registers search attributes."""
    steps = [name for name in services() if "search-attribute create" in command_text(name)]
    assert len(steps) == 1, f"expected one search-attribute step, found {steps}"
    return steps[0]


def command_text(service: str) -> str:
    command = services()[service].get("command", "")
    return "\n".join(command) if isinstance(command, list) else str(command)


def created_search_attributes(script: str) -> list[tuple[str, str, str]]:
    """(namespace, name, type) of every `temporal operator search-attribute create` command."""
    created: list[tuple[str, str, str]] = []
    for line in script.replace("\\\n", " ").replace("$$", "$").splitlines():
        words = shlex.split(line, comments=True)
        if "search-attribute" not in words or "create" not in words:
            continue
        flags = dict(itertools.pairwise(words))
        created.append((flags.get("--namespace", ""), flags["--name"], flags["--type"]))
    return created


def depends_on(service: str) -> dict[str, str]:
    """The services this one waits for, with the condition it waits for."""
    raw = services()[service].get("depends_on", {})
    if isinstance(raw, list):
        return {str(name): "service_started" for name in raw}
    return {str(name): str(spec.get("condition", "service_started")) for name, spec in raw.items()}


def test_every_lotse_variable_of_the_worker_is_a_field_of_settings() -> None:
    fields = {SETTINGS_ENV_PREFIX + name.upper() for name in Settings.model_fields}
    variables = {name for name in environment(WORKER) if name.startswith(SETTINGS_ENV_PREFIX)}

    assert variables, "the worker gets no LOTSE_* configuration"
    assert variables <= fields, f"not settings.Settings fields: {sorted(variables - fields)}"


def test_the_worker_gets_its_configuration_only_through_lotse_variables() -> None:
    others = [name for name in environment(WORKER) if not name.startswith(SETTINGS_ENV_PREFIX)]

    assert others == []
    assert "env_file" not in services()[WORKER]


def test_every_lotse_variable_the_dockerfile_sets_is_a_field_of_settings() -> None:
    fields = {SETTINGS_ENV_PREFIX + name.upper() for name in Settings.model_fields}
    variables = set(re.findall(r"\bLOTSE_\w+", DOCKERFILE.read_text(encoding="utf-8")))

    assert variables <= fields, f"not settings.Settings fields: {sorted(variables - fields)}"


def test_settings_accept_the_worker_environment_with_its_defaults_filled_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in list(Settings.model_fields):
        monkeypatch.delenv(SETTINGS_ENV_PREFIX + name.upper(), raising=False)
    for name, value in environment(WORKER).items():
        monkeypatch.setenv(name, interpolate(value))

    settings = Settings()

    assert settings.store == "postgres"
    assert settings.task_queue == TASK_QUEUE
    assert settings.postgres_host == EVENT_STORE
    assert "domain.postgres_store:LotsePostgresFactory" in settings.event_store_env().values()


def test_the_worker_keeps_its_record_in_the_postgres_event_store_service() -> None:
    worker = environment(WORKER)
    store = environment(EVENT_STORE)

    assert worker["LOTSE_STORE"] == "postgres"
    assert worker["LOTSE_POSTGRES_HOST"] == EVENT_STORE
    assert image(EVENT_STORE).startswith("postgres:")
    assert worker["LOTSE_POSTGRES_USER"] == store["POSTGRES_USER"]
    assert worker["LOTSE_POSTGRES_PASSWORD"] == store["POSTGRES_PASSWORD"]
    assert worker["LOTSE_POSTGRES_DBNAME"] == store["POSTGRES_DB"]


def test_the_event_store_is_not_temporals_database() -> None:
    temporal_db_hosts = {environment(temporal_service())["POSTGRES_SEEDS"]}

    assert EVENT_STORE not in temporal_db_hosts


def test_the_worker_talks_to_the_temporal_service_on_the_victim_support_queue() -> None:
    worker = environment(WORKER)

    assert worker["LOTSE_TEMPORAL_ADDRESS"] == f"{temporal_service()}:{TEMPORAL_PORT}"
    assert worker["LOTSE_TASK_QUEUE"] == TASK_QUEUE


def test_the_search_attribute_step_creates_exactly_the_vocabulary_names_as_keyword() -> None:
    step = search_attribute_step()
    created = created_search_attributes(command_text(step))

    names = [name for _, name, _ in created]
    assert sorted(names) == sorted(SEARCH_ATTRIBUTE_NAMES)
    assert {kind for _, _, kind in created} == {"Keyword"}


def test_the_search_attributes_go_into_the_namespace_the_worker_uses() -> None:
    step = search_attribute_step()
    step_env = environment(step)

    namespaces = {namespace for namespace, _, _ in created_search_attributes(command_text(step))}
    assert namespaces == {"$TEMPORAL_NAMESPACE"}
    assert step_env["TEMPORAL_NAMESPACE"] == environment(WORKER)["LOTSE_TEMPORAL_NAMESPACE"]
    assert step_env["TEMPORAL_ADDRESS"] == f"{temporal_service()}:{TEMPORAL_PORT}"


def test_the_search_attribute_step_runs_admin_tools_once_the_server_is_healthy() -> None:
    step = search_attribute_step()

    assert image(step).startswith("temporalio/admin-tools:")
    assert depends_on(step) == {temporal_service(): "service_healthy"}
    assert depends_on(WORKER)[step] == "service_completed_successfully"


def test_the_temporal_server_starts_only_after_admin_tools_set_up_its_schema() -> None:
    [(setup, condition)] = depends_on(temporal_service()).items()

    assert condition == "service_completed_successfully"
    assert image(setup).startswith("temporalio/admin-tools:")
    assert "update-schema" in command_text(setup)
    assert environment(temporal_service())["DB"] == "postgres12"


def test_no_service_uses_the_deprecated_auto_setup_image() -> None:
    assert services_with_image("temporalio/auto-setup") == []


def test_every_image_is_pinned_to_a_version() -> None:
    for name in services():
        repository, _, tag = image(name).partition(":")
        assert tag not in ("", "latest"), f"{name}: image {repository!r} is not pinned"


def test_every_awaited_health_is_checked_by_the_awaited_service() -> None:
    for name in services():
        for dependency, condition in depends_on(name).items():
            assert dependency in services(), f"{name} waits for unknown {dependency}"
            if condition == "service_healthy":
                assert "healthcheck" in services()[dependency], f"{dependency} has no healthcheck"


def test_the_ui_points_at_the_temporal_service() -> None:
    [ui] = services_with_image("temporalio/ui")

    assert environment(ui)["TEMPORAL_ADDRESS"] == f"{temporal_service()}:{TEMPORAL_PORT}"
    assert any(str(port).endswith(":8080") for port in services()[ui]["ports"])


def test_the_worker_is_built_from_our_dockerfile_and_runs_the_worker_module() -> None:
    worker = services()[WORKER]
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")

    assert worker["build"] in (".", {"context": "."})
    assert worker["command"] in (["python", "-m", "worker"], "python -m worker")
    assert 'CMD ["python", "-m", "worker"]' in dockerfile
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.MULTILINE)
    assert re.search(r"^USER (?!root\b|0\b)\S+", dockerfile, re.MULTILINE)


def test_workers_scale_horizontally_on_one_task_queue() -> None:
    worker = services()[WORKER]

    assert worker["deploy"]["replicas"] >= 2
    assert "container_name" not in worker
