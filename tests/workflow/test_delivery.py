"""Delivery over both channels inside the procedure: a webhook that fails is retried within the
bounded policy, its failure is recorded, and the escalation goes on over a working webhook."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from contracts.messages import AcknowledgeAlert, AcknowledgementResult, Actor
from contracts.vocabulary import AlertState
from tests.workflow.support import (
    SHIPPED_AGREEMENT,
    Stack,
    declaration,
    eventually,
    free_port,
    payload_texts,
)


class Inbox:
    """What a partner's webhook endpoint received."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []


@pytest.fixture
def webhook() -> Iterator[tuple[str, Inbox]]:
    inbox = Inbox()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            inbox.requests.append((dict(self.headers), json.loads(body)))
            self.send_response(202)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test asserts on the inbox instead."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/lotse", inbox
    server.shutdown()
    server.server_close()


@pytest.fixture
def agreement_path(tmp_path: Path, webhook: tuple[str, Inbox]) -> Path:
    """WEISSER RING is reached by webhook: its primary endpoint is down, its deputy's works."""
    url, _ = webhook
    closed = f"http://127.0.0.1:{free_port()}/down"
    text = SHIPPED_AGREEMENT.read_text(encoding="utf-8")
    text = text.replace(
        'primary = { channel = "email", address = "landesbuero@weisser-ring.example.org" }',
        f'primary = {{ channel = "webhook", address = "{closed}" }}',
    ).replace(
        'deputy = { channel = "email", address = "landesvorsitz@weisser-ring.example.org" }',
        f'deputy = {{ channel = "webhook", address = "{url}" }}',
    )
    assert text.count('channel = "webhook"') == 2
    path = tmp_path / "agreement-with-webhooks.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def test_a_failed_webhook_is_recorded_and_the_escalation_reaches_the_deputy_webhook(
    stack: Stack, webhook: tuple[str, Inbox]
) -> None:
    _, inbox = webhook
    # Deadlines of minutes: the deputy is reached at once because the primary alert could not
    # be delivered, not because a deadline ran out.
    handle = await stack.declare(declaration(deadlines={"ack": 600, "escalation_step": 600}))

    await eventually(
        lambda: inbox.requests, lambda r: len(r) >= 1, within=15, what="the deputy's webhook"
    )
    headers, payload = inbox.requests[0]
    assert payload["partner_id"] == "weisser-ring"
    assert payload["step"] == "deputy"
    assert headers["Idempotency-Key"] == f"{handle.id}.escalation.deputy.weisser-ring"

    history = await eventually(
        lambda: stack.history(handle.id),
        lambda events: any(
            e.event == "AlertSent"
            and e.details["step"] == "deputy"
            and e.details["partner_id"] == "weisser-ring"
            for e in events
        ),
        what="the deputy's delivery to be recorded",
    )
    failed = [e for e in history if e.event == "AlertSent" and not e.details["delivered"]]
    assert len(failed) == 1
    assert failed[0].details["partner_id"] == "weisser-ring"
    assert failed[0].details["detail"].startswith("webhook to the primary contact: is unreachable")
    assert failed[0].details["contact"].endswith("/down")  # the record names the address ...
    stored_by_temporal = payload_texts(await handle.fetch_history())
    assert '"partner_id":"weisser-ring"' in stored_by_temporal  # the decoding works ...
    assert "/down" not in stored_by_temporal  # ... and Temporal's history has no address
    assert "example.org" not in stored_by_temporal
    by_webhook = [
        (e.details["step"], e.details["delivered"])
        for e in history
        if e.event == "AlertSent" and e.details["channel"] == "webhook"
    ]
    assert by_webhook == [("primary", False), ("deputy", True)]

    status = await stack.status(handle)
    weisser_ring = next(p for p in status.partners if p.partner_id == "weisser-ring")
    assert weisser_ring.delivery_failures == 1
    assert weisser_ring.state is AlertState.ESCALATED

    result: AcknowledgementResult = await handle.execute_update(
        "acknowledge_alert",
        AcknowledgeAlert(
            partner_id="weisser-ring", actor=Actor(partner_id="weisser-ring", staff_ref="lv-1")
        ),
        result_type=AcknowledgementResult,
    )
    assert not result.late  # within the acknowledgement deadline, though after an escalation
