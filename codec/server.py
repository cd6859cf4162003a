"""The codec server: Temporal's remote codec protocol over HTTP, so the UI shows payloads decrypted.

    POST /encode, POST /decode    body and answer {"payloads": [{"metadata": {k: base64},
                                  "data": base64}]} (protobuf JSON of `Payloads`)
    OPTIONS (either path)         CORS preflight of the browser

The browser running the Temporal UI calls it directly (with `X-Namespace`, and with
credentials when the UI is configured to send them), so it answers CORS for the UI's origins
only, and refuses requests from any other origin: another web page open in the operator's
browser must not have payloads decrypted. Requests without an `Origin` (the `temporal` CLI's
`--codec-endpoint`, scripts) are served. It listens on 127.0.0.1 only; elsewhere it belongs
behind a reverse proxy that authenticates (docs/data-protection.md).

Answers: 200 with the payloads; 400 for a body that is not the protocol's JSON; 403 for a
foreign origin; 404 for another path; 413 for a body over `MAX_BODY_BYTES`; 422 when a payload
cannot be decrypted (unknown key id, altered). Errors are `{"error": "<message>"}`.

Standard library only (`http.server` in a thread): a handful of requests per page view needs
no framework.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from google.protobuf.json_format import MessageToDict, ParseDict, ParseError
from temporalio.api.common.v1 import Payload, Payloads

from codec.aesgcm import EncryptionCodec, PayloadDecryptionError

HOST = "127.0.0.1"
MAX_BODY_BYTES = 64 * 1024 * 1024  # a UI page decodes a whole history at once
ALLOWED_HEADERS = "x-namespace, content-type, authorization, authorization-extras"

log = logging.getLogger("lotse.codec")


def ui_origins(ui_url: str) -> frozenset[str]:
    """The origins a browser sends for the UI at `ui_url`: the URL's own, and for a loopback
    UI also its twin (`localhost` ⇄ `127.0.0.1`), since either name opens the same page."""
    parts = urlsplit(ui_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    twins = {"127.0.0.1": "localhost", "localhost": "127.0.0.1"}
    host = parts.hostname or ""
    if host in twins:
        port = f":{parts.port}" if parts.port else ""
        return frozenset({origin, f"{parts.scheme}://{twins[host]}{port}"})
    return frozenset({origin})


class BadRequestError(ValueError):
    """The body is not `{"payloads": [...]}` of protobuf-JSON payloads."""


def read_payloads(body: bytes) -> list[Payload]:
    """The payloads of a request body, or `BadRequestError` saying what is wrong."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadRequestError(f"body is not JSON: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("payloads"), list):
        raise BadRequestError('body must be a JSON object {"payloads": [...]}')
    try:
        # Unknown fields are ignored: a newer UI may add some beside metadata and data.
        message = ParseDict(document, Payloads(), ignore_unknown_fields=True)
    except ParseError as error:
        raise BadRequestError(f"payloads: {error}") from None
    return list(message.payloads)


def write_payloads(payloads: Iterable[Payload]) -> bytes:
    document = MessageToDict(Payloads(payloads=payloads))
    document.setdefault("payloads", [])
    return json.dumps(document).encode("utf-8")


class CodecServer:
    """The HTTP codec server on 127.0.0.1:`port` (0: any free port) in a daemon thread."""

    def __init__(self, codec: EncryptionCodec, port: int, origins: Iterable[str]) -> None:
        self.codec = codec
        self.origins = frozenset(origins)
        self._http = ThreadingHTTPServer((HOST, port), _handler_for(self))
        self._http.daemon_threads = True
        self._thread = threading.Thread(
            target=self._http.serve_forever, name="lotse-codec-server", daemon=True
        )

    @property
    def port(self) -> int:
        port: int = self._http.server_address[1]
        return port

    @property
    def url(self) -> str:
        """What `--ui-codec-endpoint` and `TEMPORAL_CODEC_ENDPOINT` are set to."""
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._http.shutdown()
            self._thread.join()
        self._http.server_close()

    def __enter__(self) -> CodecServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def transform(self, operation: str) -> Callable[[Payload], Payload] | None:
        """The codec function of a path's operation, None for a path the protocol lacks."""
        return {"encode": self.codec.encrypt, "decode": self.codec.decrypt}.get(operation)


def _handler_for(server: CodecServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_CodecRequestHandler):
        codec_server = server

    return Handler


class _CodecRequestHandler(BaseHTTPRequestHandler):
    codec_server: CodecServer
    protocol_version = "HTTP/1.1"  # keep-alive: the UI sends many requests per page
    # Headers and body leave in two writes; with Nagle's algorithm the second waits for the
    # client's delayed ACK, ~40 ms per answer on a kept-alive connection.
    disable_nagle_algorithm = True

    def do_OPTIONS(self) -> None:
        if not self._origin_allowed():
            self._reply(HTTPStatus.FORBIDDEN, {"error": "origin not allowed"})
            return
        self._reply(HTTPStatus.NO_CONTENT, None)

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            self._reply(HTTPStatus.BAD_REQUEST, {"error": "Content-Length is not a number"})
            return
        if length > MAX_BODY_BYTES:
            self.close_connection = True  # the unread body must not be parsed as a request
            self._reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "body too large"})
            return
        body = self.rfile.read(length)
        if not self._origin_allowed():
            self._reply(HTTPStatus.FORBIDDEN, {"error": "origin not allowed"})
            return
        # The UI appends a query (`/decode?preserveStorageRefs=true`) and an endpoint given
        # with a trailing slash yields `//decode`: only the last path segment counts.
        operation = urlsplit(self.path).path.rstrip("/").rpartition("/")[2]
        transform = self.codec_server.transform(operation)
        if transform is None:
            self._reply(HTTPStatus.NOT_FOUND, {"error": "only POST /encode and /decode"})
            return
        try:
            payloads = [transform(p) for p in read_payloads(body)]
        except BadRequestError as error:
            self._reply(HTTPStatus.BAD_REQUEST, {"error": str(error)})
            return
        except PayloadDecryptionError as error:
            self._reply(HTTPStatus.UNPROCESSABLE_ENTITY, {"error": str(error)})
            return
        self._reply(HTTPStatus.OK, write_payloads(payloads))

    def _origin_allowed(self) -> bool:
        origin = self.headers.get("Origin")
        return origin is None or origin in self.codec_server.origins

    def _reply(self, status: HTTPStatus, content: dict[str, Any] | bytes | None) -> None:
        body = json.dumps(content).encode() if isinstance(content, dict) else content or b""
        self.send_response(status)
        origin = self.headers.get("Origin")
        if origin is not None and origin in self.codec_server.origins:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Access-Control-Allow-Credentials", "true")
            self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
            self.send_header("Access-Control-Allow-Headers", ALLOWED_HEADERS)
            self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Vary", "Origin")
        if content is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)
