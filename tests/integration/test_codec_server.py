"""The codec server over real HTTP on loopback, as the Temporal UI in a browser calls it."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import httpx
import pytest
from temporalio.api.common.v1 import Payload

from codec.aesgcm import ENCODING, KEY_ID, EncryptionCodec
from codec.keys import KeyRing
from codec.server import ALLOWED_HEADERS, CodecServer, ui_origins

UI = "http://127.0.0.1:8233"
MARKER = "Zyxwvu-Marker Uebung"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def ui_payload(value: object) -> dict[str, object]:
    """A payload as the UI's start form makes it: JSON, encoding json/plain, all base64."""
    return {"metadata": {"encoding": b64(b"json/plain")}, "data": b64(json.dumps(value).encode())}


def sealed_body(codec: EncryptionCodec) -> dict[str, object]:
    """A request body with the marker encrypted by `codec`, as the UI sends it for decoding."""
    sealed = codec.encrypt(
        Payload(metadata={"encoding": b"json/plain"}, data=b'"' + MARKER.encode() + b'"')
    )
    metadata = {key: b64(value) for key, value in sealed.metadata.items()}
    return {"payloads": [{"metadata": metadata, "data": b64(sealed.data)}]}


@pytest.fixture(scope="module")
def server() -> Iterator[CodecServer]:
    with CodecServer(EncryptionCodec(KeyRing.fresh()), 0, ui_origins(UI)) as running:
        yield running


@pytest.fixture
def http(server: CodecServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=5) as client:
        yield client


def ui_headers(origin: str = UI) -> dict[str, str]:
    return {"Origin": origin, "X-Namespace": "default", "Content-Type": "application/json"}


def test_what_the_ui_encodes_is_ciphertext_and_decodes_back_to_what_was_typed(
    http: httpx.Client, server: CodecServer
) -> None:
    typed = {"payloads": [ui_payload({"title": MARKER}), ui_payload(42)]}

    # The UI appends this query to every call (src/lib/services/data-encoder.ts).
    encoded = http.post("/encode?preserveStorageRefs=true", json=typed, headers=ui_headers())
    decoded = http.post(
        "/decode?preserveStorageRefs=true", json=encoded.json(), headers=ui_headers()
    )

    assert encoded.status_code == 200, encoded.text
    sealed = encoded.json()["payloads"]
    assert len(sealed) == 2
    for payload in sealed:
        assert base64.b64decode(payload["metadata"]["encoding"]) == ENCODING
        assert base64.b64decode(payload["metadata"][KEY_ID]) == server.codec.ring.current.encode()
        assert MARKER.encode() not in base64.b64decode(payload["data"])
    assert decoded.status_code == 200, decoded.text
    assert decoded.json() == typed
    assert encoded.headers["Access-Control-Allow-Origin"] == UI
    assert encoded.headers["Access-Control-Allow-Credentials"] == "true"


def test_decoding_a_plain_payload_returns_it_unchanged(http: httpx.Client) -> None:
    plain = {"payloads": [ui_payload({"title": "Übung"})]}

    answer = http.post("/decode", json=plain, headers=ui_headers())

    assert answer.status_code == 200
    assert answer.json() == plain


@pytest.mark.parametrize("origin", [UI, "http://localhost:8233"])
def test_the_browser_s_preflight_from_the_ui_is_allowed_with_the_headers_the_ui_sends(
    http: httpx.Client, origin: str
) -> None:
    answer = http.options(
        "/decode",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-namespace",
        },
    )

    assert answer.status_code == 204
    assert answer.headers["Access-Control-Allow-Origin"] == origin
    assert answer.headers["Access-Control-Allow-Credentials"] == "true"
    assert "POST" in answer.headers["Access-Control-Allow-Methods"]
    allowed = {h.strip() for h in answer.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"x-namespace", "content-type", "authorization"} <= allowed
    assert answer.headers["Access-Control-Allow-Headers"] == ALLOWED_HEADERS


def test_another_web_page_in_the_operator_s_browser_gets_nothing_decrypted(
    http: httpx.Client, server: CodecServer
) -> None:
    body = sealed_body(server.codec)
    foreign = "http://evil.example.org"

    preflight = http.options("/decode", headers={"Origin": foreign})
    answer = http.post("/decode", json=body, headers=ui_headers(foreign))

    assert preflight.status_code == 403
    assert "Access-Control-Allow-Origin" not in preflight.headers
    assert answer.status_code == 403
    assert MARKER not in answer.text
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_the_temporal_cli_without_an_origin_is_served(http: httpx.Client) -> None:
    answer = http.post("/encode", json={"payloads": [ui_payload(1)]})

    assert answer.status_code == 200
    assert "Access-Control-Allow-Origin" not in answer.headers


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "body is not JSON"),
        (b"[1, 2]", 'body must be a JSON object {"payloads": [...]}'),
        (b'{"payloads": {}}', 'body must be a JSON object {"payloads": [...]}'),
        (b'{"payloads": [{"metadata": "x"}]}', "payloads: "),
        (b'{"payloads": [{"data": 5}]}', "payloads: "),
    ],
)
def test_a_body_that_is_not_the_protocol_is_answered_400_with_the_reason(
    http: httpx.Client, body: bytes, message: str
) -> None:
    answer = http.post("/decode", content=body, headers=ui_headers())

    assert answer.status_code == 400
    assert message in answer.json()["error"]
    assert answer.headers["Access-Control-Allow-Origin"] == UI  # the UI can read why


def test_a_payload_of_an_unknown_key_is_answered_422_naming_the_key_id(
    http: httpx.Client,
) -> None:
    lost = EncryptionCodec(KeyRing.fresh())
    body = sealed_body(lost)

    answer = http.post("/decode", json=body, headers=ui_headers())

    assert answer.status_code == 422
    assert f"key id '{lost.ring.current}'" in answer.json()["error"]


def test_only_encode_and_decode_exist(http: httpx.Client) -> None:
    assert http.post("/keys", json={"payloads": []}).status_code == 404


def test_it_listens_on_loopback_only(server: CodecServer) -> None:
    assert server.url.startswith("http://127.0.0.1:")
