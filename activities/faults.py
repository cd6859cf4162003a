"""Fault injection for tests/workflow/test_worker_crash.py: ways for a worker to die at an exact
point. Inert in production: only the test-only `LOTSE_CRASH_…` settings switch them on."""

from __future__ import annotations

import os
import select
import signal
import smtplib
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer


def die() -> NoReturn:
    """End this process at once, as a power cut or the OOM killer would: no cleanup, no report
    to Temporal (SIGKILL cannot be caught)."""
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("SIGKILL did not end the process")


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
