"""A worker process that dies at one exact point, for tests/workflow/test_worker_crash.py.

    python -m tests.workflow.crashing_worker --after-commit-in record_needs
    python -m tests.workflow.crashing_worker --in-smtp-data-of <message id>

It is Lotse's own worker, built by `bootstrap.run_worker` from the `LOTSE_*` settings, with one
addition that production never has: an activity interceptor that sends the process SIGKILL
right after the named activity returned (its commit done, Temporal not yet told), or a notifier
whose SMTP client dies inside one message's transaction. SIGKILL cannot be caught: no cleanup,
no report to Temporal, as with a power cut or the OOM killer.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import select
import signal
import smtplib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from activities.messages import OutgoingMessage
from activities.notify import Notifier
from bootstrap import run_worker
from settings import Settings

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

log = logging.getLogger("lotse.crashing-worker")


def die() -> NoReturn:
    """End this process at once, without cleanup and without a word to Temporal."""
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("SIGKILL did not end the process")


class DieAfterActivity(Interceptor):
    """Kills the worker as soon as an activity of `activity_type` has returned: after whatever
    it committed, before its result reaches Temporal. A local activity runs through the same
    `execute_activity`, so it dies at the same point."""

    def __init__(self, activity_type: str) -> None:
        self.activity_type = activity_type

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _DieAfter(next, self.activity_type)


class _DieAfter(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, activity_type: str) -> None:
        super().__init__(next)
        self._activity_type = activity_type

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        result = await super().execute_activity(input)
        info = activity.info()
        if info.activity_type == self._activity_type:
            log.warning("dying right after %s (attempt %d)", info.activity_type, info.attempt)
            die()
        return result


class SMTPDyingAfterData(smtplib.SMTP):
    """An SMTP client that dies after sending a message's data, once the server's reply has
    arrived but before reading it: the server has accepted the message, the sender never
    learns it. That is the one moment where a retry must deliver the same message twice."""

    _data_sent = False

    def send(self, s: ReadableBuffer | str) -> None:
        super().send(s)
        # `data()` sends the whole message with its terminating "." line in one call.
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self._data_sent = True

    def getreply(self) -> tuple[int, bytes]:
        if self._data_sent and self.sock is not None:
            # Wait until the reply is there (the server has stored the message), then die
            # without reading it; a timeout dies all the same.
            select.select([self.sock], [], [], self.timeout or 10.0)
            die()
        return super().getreply()


class NotifierDyingInSMTPData(Notifier):
    """Lotse's notifier, except that the message `message_id` goes over `SMTPDyingAfterData`."""

    def __init__(self, settings: Settings, message_id: str) -> None:
        super().__init__(settings)
        self.settings = settings
        self.message_id = message_id

    def open_smtp(self, message: OutgoingMessage) -> smtplib.SMTP:
        if message.message_id != self.message_id:
            return super().open_smtp(message)
        s = self.settings
        return SMTPDyingAfterData(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.workflow.crashing_worker")
    point = parser.add_mutually_exclusive_group(required=True)
    point.add_argument("--after-commit-in", metavar="ACTIVITY_TYPE")
    point.add_argument("--in-smtp-data-of", metavar="MESSAGE_ID")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    where = parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = Settings()
    notifier = None
    interceptors: list[Interceptor] = []
    if where.after_commit_in:
        interceptors.append(DieAfterActivity(where.after_commit_in))
    else:
        notifier = NotifierDyingInSMTPData(settings, where.in_smtp_data_of)

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await run_worker(settings, stop, notifier=notifier, interceptors=interceptors)

    asyncio.run(serve())


if __name__ == "__main__":
    main()
