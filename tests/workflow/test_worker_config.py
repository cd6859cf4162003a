"""How `build_worker` sets up the Temporal worker from the settings: the sandbox for the case
workflow, the cases kept in memory, the workflow tasks at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from bootstrap import ACTIVITY_THREADS, WORKFLOW_TASKS, build_worker
from domain.application import LotseApplication
from settings import Settings


async def test_the_suites_workers_run_cases_in_the_sandbox_and_service_workers_do_not(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    app = LotseApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    runners = {}
    with ThreadPoolExecutor(ACTIVITY_THREADS) as pool:
        for sandbox_cases in (True, False):
            settings = Settings(
                data_dir=tmp_path,
                sandbox_cases=sandbox_cases,
                task_queue=f"runners-{sandbox_cases}",
            )
            worker = build_worker(temporal_env.client, settings, app, pool)
            runners[sandbox_cases] = worker.config()["unsandboxed_workflow_runner"]
    assert isinstance(runners[True], SandboxedWorkflowRunner)
    assert isinstance(runners[False], UnsandboxedWorkflowRunner)
    assert Settings().sandbox_cases, "tests/conftest.py sets LOTSE_SANDBOX_CASES for the suite"


async def test_the_worker_keeps_the_configured_cases_and_bounds_its_tasks(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Cases kept between steps come from the settings (the SDK's own default is 1,000, short
    of an incident of 5,000); workflow tasks at once are bounded (`WORKFLOW_TASKS`)."""
    app = LotseApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    assert Settings(data_dir=tmp_path).workflow_cache_size == 5000
    settings = Settings(data_dir=tmp_path, workflow_cache_size=1234, task_queue="cache-size")
    with ThreadPoolExecutor(ACTIVITY_THREADS) as pool:
        config = build_worker(temporal_env.client, settings, app, pool).config()
    assert config["max_cached_workflows"] == 1234
    assert config["max_concurrent_workflow_tasks"] == WORKFLOW_TASKS < 100
