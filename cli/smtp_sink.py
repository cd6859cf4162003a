"""A local SMTP sink for the dev stack: every message it accepts becomes one `.eml` file.

The file is named after the message's Message-ID, so a redelivery of the same message (a retried
alert) overwrites the same file: one alert, one file, as a receiver that drops duplicates by
Message-ID sees it (`read_mailbox`). So that a redelivery is not invisible, every accepted delivery
is also appended as one line to `deliveries.jsonl` in the same directory (`read_deliveries`).
Files are written atomically (temporary file, then rename), so a reader never sees half a
message. The sink listens on loopback only; it is a development tool, not a mail server.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
import os
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aiosmtpd.controller import Controller

_FILE_SUFFIX = ".eml"
DELIVERIES_FILE = "deliveries.jsonl"
_MAX_STEM = 150
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._@+=-]+")


class MailSink:
    """An SMTP server on a loopback address that stores each received message in `mail_dir`.

    Use it as a context manager, or call `start()` and `stop()`. `port` must be a concrete port:
    the controller checks it is ready by connecting to it.
    """

    def __init__(self, mail_dir: Path, host: str = "127.0.0.1", port: int = 8025) -> None:
        if not _is_loopback(host):
            raise ValueError(
                f"MailSink listens on loopback only; refusing to bind to '{host}' "
                "(use 127.0.0.1, ::1 or localhost)"
            )
        self.mail_dir = mail_dir
        self.host = host
        self.port = port
        self._controller: Controller | None = None

    def start(self) -> None:
        """Listen until `stop()`; a second call while running does nothing."""
        if self._controller is not None:
            return
        self.mail_dir.mkdir(parents=True, exist_ok=True)
        # A controller cannot be restarted (its loop is closed on stop), so each start builds one.
        controller = Controller(
            _StoreInDirectory(self.mail_dir),
            hostname=self.host,
            port=self.port,
            enable_SMTPUTF8=True,
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        """Stop listening; messages already accepted stay on disk. Safe to call twice."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


@dataclass(frozen=True)
class Delivery:
    """One message the sink accepted (one SMTP transaction), as `deliveries.jsonl` keeps it."""

    message_id: str
    """The Message-ID header as sent, e.g. `<x@lotse.example.org>`; empty when it had none."""
    recipients: tuple[str, ...]
    """The envelope recipients (RCPT TO)."""
    file: str
    """The `.eml` file the message was stored in (overwritten by a redelivery)."""
    received_at: datetime


class _StoreInDirectory:
    """The aiosmtpd handler: write the message's bytes to `<mail_dir>/<message-id>.eml` and
    append the delivery to `<mail_dir>/deliveries.jsonl`, both before answering 250."""

    def __init__(self, mail_dir: Path) -> None:
        self._mail_dir = mail_dir
        # Sessions store in parallel threads; one appender at a time keeps every line whole.
        self._append_lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's hook name)
        content = envelope.original_content or envelope.content
        data = content if isinstance(content, bytes) else str(content).encode("utf-8")
        recipients = tuple(str(r) for r in envelope.rcpt_tos)
        # File I/O off the event loop, so a slow disk does not stall other SMTP sessions.
        await asyncio.to_thread(self._store, data, recipients)
        return "250 Message accepted for delivery"

    def _store(self, data: bytes, recipients: tuple[str, ...]) -> None:
        target = self._mail_dir / f"{file_stem(data)}{_FILE_SUFFIX}"
        temporary = self._mail_dir / f".{target.name}.{uuid.uuid4().hex}.tmp"
        with temporary.open("wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
        message_id = BytesHeaderParser().parsebytes(data).get("Message-ID")
        line = json.dumps(
            {
                "message_id": str(message_id).strip() if message_id else "",
                "recipients": list(recipients),
                "file": target.name,
                "received_at": datetime.now(UTC).isoformat(),
            },
            ensure_ascii=False,
        )
        with (
            self._append_lock,
            (self._mail_dir / DELIVERIES_FILE).open("a", encoding="utf-8") as log,
        ):
            log.write(line + "\n")
            log.flush()
            os.fsync(log.fileno())


def file_stem(data: bytes) -> str:
    """The file name (without suffix) for a raw message: its sanitised Message-ID, or a uuid."""
    message_id = BytesHeaderParser().parsebytes(data).get("Message-ID")
    raw = str(message_id).strip().strip("<>").strip() if message_id else ""
    if not raw:
        return f"no-message-id-{uuid.uuid4().hex}"
    stem = _UNSAFE_NAME_CHARS.sub("_", raw).lstrip(".")
    if stem != raw or len(stem) > _MAX_STEM:
        # Keep odd ids that differ only in replaced characters apart.
        digest = hashlib.sha256(raw.encode("utf-8", "replace")).hexdigest()[:12]
        stem = f"{stem[:_MAX_STEM]}.{digest}"
    return stem


def read_mailbox(mail_dir: Path) -> list[EmailMessage]:
    """Every stored message, oldest file first; an empty list when the directory is missing."""
    if not mail_dir.is_dir():
        return []
    files = sorted(mail_dir.glob(f"*{_FILE_SUFFIX}"), key=lambda p: (p.stat().st_mtime_ns, p.name))
    return [_parse(path.read_bytes()) for path in files]


def read_deliveries(mail_dir: Path) -> list[Delivery]:
    """Every delivery the sink accepted, in the order it accepted them, redeliveries included;
    an empty list when nothing was delivered yet."""
    path = mail_dir / DELIVERIES_FILE
    if not path.is_file():
        return []
    deliveries: list[Delivery] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        deliveries.append(
            Delivery(
                message_id=record["message_id"],
                recipients=tuple(record["recipients"]),
                file=record["file"],
                received_at=datetime.fromisoformat(record["received_at"]),
            )
        )
    return deliveries


def _parse(data: bytes) -> EmailMessage:
    message = message_from_bytes(data, policy=policy.default)
    # policy.default makes EmailMessage; the check only narrows the type for mypy.
    assert isinstance(message, EmailMessage)
    return message


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
