"""What every `lotse` command shares: one-line errors, the store and the client, times, consoles.

A command never shows a traceback for a foreseeable failure: `reports_errors` turns domain
refusals, invalid input and Temporal errors into one `error: …` line on stderr and exit code 1.
"""

from __future__ import annotations

import functools
import shlex
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, ParamSpec, TypeVar

import psycopg
import typer
from eventsourcing.persistence import PersistenceError
from pydantic import BaseModel, ValidationError
from rich.console import Console
from temporalio.client import (
    Client,
    RPCTimeoutOrCancelledError,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError, FailureError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from bootstrap import build_application, connect
from codec.keys import CodecKeyError
from contracts.agreement import AgreementFileError, explain_validation_error
from contracts.directory_file import DirectoryFileError
from contracts.links import workflow_page_url
from contracts.messages import Actor, CommandContext
from contracts.vocabulary import BERLIN, ActorChannel
from domain.application import LotseApplication
from domain.errors import DomainError
from settings import ConfigFileError, Settings, find_config_file, project_root

BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a writer whose reader left
P = ParamSpec("P")
M = TypeVar("M", bound=BaseModel)


class CliError(Exception):
    """A failure the operator can act on; its message is printed as one line."""


def reports_errors(command: Callable[P, None]) -> Callable[P, None]:
    """Wrap a command: each foreseeable failure becomes one `error: …` line and exit code 1."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            command(*args, **kwargs)
        except (
            CliError,
            DomainError,
            AgreementFileError,
            DirectoryFileError,
            ConfigFileError,
            CodecKeyError,
        ) as error:
            fail(str(error))
        except ValidationError as error:
            fail(f"invalid {error.title}: {explain_validation_error(error)}")
        except WorkflowUpdateFailedError as error:
            fail(failure_message(error.cause))
        except (WorkflowQueryFailedError, FailureError) as error:
            fail(failure_message(error))
        except RPCError as error:
            fail(f"Temporal refused the request: {error.message}")
        except (PersistenceError, psycopg.Error) as error:
            fail(f"the event store cannot be used: {' '.join(str(error).split())}")
        except BrokenPipeError:
            # The reader went away (`lotse history X | head -1`): as with any Unix tool, stop
            # quietly; its code is that of a process ended by SIGPIPE.
            raise typer.Exit(BROKEN_PIPE) from None
        except OSError as error:
            fail(f"{error.strerror or error}: {error.filename or ''}".rstrip(": "))

    return run


def fail(message: str) -> NoReturn:
    """Print one error line on stderr and exit 1."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def failure_message(error: BaseException) -> str:
    """The operator-facing message of a Temporal failure (the workflow's own words)."""
    if isinstance(error, ApplicationError | WorkflowQueryFailedError):
        return error.message
    return str(error)


def validated(model: type[M], data: dict[str, Any], what: str) -> M:
    """`model` built from `data`, or a `CliError` that names each bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = explain_validation_error(error)
        raise CliError(f"invalid {what}: {problems}") from None


# --- the settings, the store and Temporal ---------------------------------------------------


def invocation_settings(ctx: typer.Context) -> Settings:
    """The one `Settings` of this `lotse` invocation, kept on its root context.

    Read from the environment and `lotse.toml` when a command first asks, not before: help and
    a command line that does not parse never depend on the settings."""
    root = ctx.find_root()
    if not isinstance(root.obj, Settings):
        root.obj = read_settings()
    return root.obj


def read_settings() -> Settings:
    """`Settings()`, or a `CliError` naming each bad variable (a `ConfigFileError` for a
    `lotse.toml` that cannot be read)."""
    try:
        return Settings()
    except ValidationError as error:
        raise CliError(f"invalid setting: {_setting_problems(error)}") from None


def _setting_problems(error: ValidationError) -> str:
    config = find_config_file()
    problems = []
    for problem in error.errors(include_url=False):
        message = problem["msg"].removeprefix("Value error, ")
        if not problem["loc"]:  # a rule between settings: its message names the variables
            problems.append(message)
            continue
        field = str(problem["loc"][0])
        where = f" (or {field} in {config})" if config else ""
        problems.append(f"LOTSE_{field.upper()}{where}: {message}")
    return "; ".join(problems)


@contextmanager
def open_application(settings: Settings, *, reading: bool = False) -> Iterator[LotseApplication]:
    """The event store, closed again when the command is done.

    A reading command (`reading=True`) never creates a store: an empty new one would only
    answer "nothing recorded" for a record that lives elsewhere."""
    if reading and settings.store == "sqlite" and not settings.event_store_path.is_file():
        raise CliError(missing_store_message(settings))
    app = build_application(settings)
    try:
        yield app
    finally:
        app.close()


def missing_store_message(settings: Settings) -> str:
    """No SQLite event store where the settings point: where that is and how to point elsewhere."""
    where = f"; {settings.config_file} is read" if settings.config_file else ""
    return (
        f"no event store at {settings.event_store_path} — point LOTSE_DATA_DIR (or "
        f"LOTSE_SQLITE_PATH) at the folder (file) of the record, or set data_dir in a "
        f"lotse.toml in this folder or a parent{where}"
    )


async def connect_client(settings: Settings) -> Client:
    """A Temporal client, or a `CliError` saying where Temporal was expected."""
    try:
        return await connect(settings)
    except (RuntimeError, ConnectionError, RPCError):
        raise CliError(
            f"cannot reach Temporal at {settings.temporal_address} (is `make run` running?)"
        ) from None


@contextmanager
def incident_errors(workflow_id: str, noun: str = "incident") -> Iterator[None]:
    """Name the incident (or case: `noun`) when Temporal does not know it or gives no answer in
    time."""
    try:
        yield
    except WorkflowAlreadyStartedError:
        raise CliError(
            f"{noun} id '{workflow_id}' is already in use; choose another --id"
        ) from None
    except WorkflowQueryRejectedError as error:
        raise CliError(f"{noun} '{workflow_id}': {error}") from None
    except RPCTimeoutOrCancelledError:
        raise CliError(
            f"{noun} '{workflow_id}' did not answer in time — is a worker running (`make run`)? "
            f"An update may still be applied once one runs: check `{status_command(noun)}` "
            "before repeating it"
        ) from None
    except RPCError as error:
        raise CliError(_rpc_message(workflow_id, error, noun)) from None


STATUS_COMMANDS = {"exchange": "lotse exchange list"}
"""How to see whether an update was applied, for workflows with no `status` command of their
own (a meeting's run: the list shows whether its minutes are recorded)."""


def status_command(noun: str) -> str:
    """The command that shows where a workflow of kind `noun` stands."""
    return STATUS_COMMANDS.get(noun, f"lotse {noun} status")


def _rpc_message(workflow_id: str, error: RPCError, noun: str = "incident") -> str:
    if error.status is RPCStatusCode.NOT_FOUND:
        if "completed" in error.message:
            return f"{noun} '{workflow_id}' has ended; its workflow takes no more updates"
        return f"{noun} '{workflow_id}' not found"
    if error.status is RPCStatusCode.DEADLINE_EXCEEDED:
        return (
            f"{noun} '{workflow_id}' did not answer in time — is a worker running? "
            f"An update may still be applied once one runs: check `{status_command(noun)}` "
            "before repeating it"
        )
    return f"{noun} '{workflow_id}': Temporal refused the request: {error.message}"


GERMAN_TIME_FORMATS = ("%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S")
"""`05.12.2026 14:30` as the UI and the German messages write times (`ui_time`), always local."""


def parse_moment(option: str, text: str | None) -> datetime | None:
    """A time typed after `option`: ISO 8601, or German `05.12.2026 14:30`; without an offset
    it is Europe/Berlin time."""
    if text is None:
        return None
    moment: datetime | None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = _german_time(text)
    if moment is None:
        raise CliError(
            f"{option} '{text}' is not a time: write it as ISO 8601 (e.g. 2026-12-05T17:52 or "
            "2026-12-05T17:52+01:00) or as 05.12.2026 17:52"
        )
    return moment if moment.tzinfo else moment.replace(tzinfo=BERLIN)


def _german_time(text: str) -> datetime | None:
    for form in GERMAN_TIME_FORMATS:
        try:
            return datetime.strptime(text.strip(), form)
        except ValueError:
            continue
    return None


def cli_context(actor: Actor, channel: ActorChannel = ActorChannel.CLI) -> CommandContext:
    """The envelope of a domain command typed at the command line (not caused by a workflow)."""
    return CommandContext(
        command_id=f"cli-{uuid.uuid4()}",
        actor=actor,
        channel=channel,
        business_time=datetime.now(UTC),
    )


def workflow_url(settings: Settings, incident_id: str) -> str:
    """The incident's page in the Temporal UI."""
    return workflow_page_url(settings.temporal_ui_url, settings.temporal_namespace, incident_id)


# --- commands to copy ----------------------------------------------------------------------

_DEFAULTS = Settings.model_fields


def lotse_program() -> str:
    """How to call this `lotse` from any folder: its name if the shell finds this one by it,
    else its absolute path."""
    script = Path(sys.executable).parent / "lotse"
    found = shutil.which("lotse")
    if found is not None and Path(found).resolve() == script.resolve():
        return "lotse"
    return str(script)


def hint_environment(settings: Settings, *, store: bool = False, ui: bool = False) -> list[str]:
    """`LOTSE_…=value` for each setting a copied command needs that differs from its default
    (the codec keys' place included: a command that reaches Temporal needs them)."""
    wanted = ["temporal_address", "temporal_namespace"]
    if ui:
        wanted.append("temporal_ui_url")
    if store:
        wanted += ["store", "sqlite_path"]
    env = settings.changed_variables(*wanted)
    default_data_dir = (project_root() or Path.cwd()) / _DEFAULTS["data_dir"].default
    # Every command that talks to Temporal needs the codec keys too; the variable holding
    # them is a secret and is never printed, so only a key file's place is handed on.
    keys_in_data_dir = (
        settings.codec_keys_file is None and not settings.codec_keys.get_secret_value()
    )
    if (store or keys_in_data_dir) and settings.data_dir != default_data_dir:
        env.append(f"LOTSE_DATA_DIR={settings.data_dir}")
    if settings.codec_keys_file is not None:
        env.append(f"LOTSE_CODEC_KEYS_FILE={settings.codec_keys_file}")
    return env


def command_hint(settings: Settings, *args: str, store: bool = False, ui: bool = False) -> str:
    """A `lotse ARGS` line that works when pasted in another shell or folder."""
    words = [*hint_environment(settings, store=store, ui=ui), lotse_program(), *args]
    return shlex.join(words)


# --- output ---------------------------------------------------------------------------------


class _Console(Console):
    """Rich's console, ending like the plain output when the reader of a pipe has gone."""

    def on_broken_pipe(self) -> None:
        try:
            super().on_broken_pipe()  # silences the console and stdout, then leaves with 1
        except SystemExit:
            raise SystemExit(BROKEN_PIPE) from None


def console() -> Console:
    """A console on the current stdout; no markup, so user text is printed as typed."""
    return _Console(markup=False, highlight=False, emoji=False)


def duration(seconds: float | None) -> str:
    """`1h 02m 03s`, `2m 05s` or `12s`."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"
