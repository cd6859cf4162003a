"""The AES-GCM payload codec and its key ring: encryption, rotation, refusals."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload

from codec.aesgcm import ENCODING, KEY_ID, EncryptionCodec, PayloadDecryptionError
from codec.keys import CodecKeyError, KeyRing, ensure_key_file, read_key_file, rotate_key_file
from workflows.converter import data_converter

MARKER = "Zyxwvu-Marker Uebung"


def plain_payload(text: str = MARKER) -> Payload:
    payload: Payload = data_converter.payload_converter.to_payloads([{"title": text}])[0]
    return payload


async def test_a_payload_round_trips_and_its_ciphertext_hides_the_text() -> None:
    codec = EncryptionCodec(KeyRing.fresh())
    original = plain_payload()

    [sealed] = await codec.encode([original])
    [opened] = await codec.decode([sealed])

    assert MARKER.encode() not in sealed.SerializeToString()
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[KEY_ID] == codec.ring.current.encode()
    assert opened == original  # data and metadata (json/plain) restored
    assert opened.metadata["encoding"] == b"json/plain"


async def test_the_same_payload_encrypts_differently_each_time() -> None:
    codec = EncryptionCodec(KeyRing.fresh())

    first, second = await codec.encode([plain_payload(), plain_payload()])

    assert first.data != second.data  # a fresh nonce each time


async def test_after_rotation_old_payloads_decode_and_new_ones_use_the_new_key() -> None:
    ring = KeyRing.fresh()
    [old] = await EncryptionCodec(ring).encode([plain_payload("vorher")])
    rotated = EncryptionCodec(ring.with_new_current())

    [new] = await rotated.encode([plain_payload("nachher")])
    [old_opened, new_opened] = await rotated.decode([old, new])

    assert rotated.ring.current != ring.current
    assert old.metadata[KEY_ID] == ring.current.encode()
    assert new.metadata[KEY_ID] == rotated.ring.current.encode()
    assert old_opened == plain_payload("vorher")
    assert new_opened == plain_payload("nachher")


async def test_a_payload_of_an_unknown_key_id_is_refused_naming_the_key_id() -> None:
    [sealed] = await EncryptionCodec(KeyRing.fresh()).encode([plain_payload()])
    stranger = EncryptionCodec(KeyRing.fresh())
    lost_id = sealed.metadata[KEY_ID].decode()

    with pytest.raises(PayloadDecryptionError, match=f"key id '{lost_id}', which is not in"):
        await stranger.decode([sealed])


async def test_a_payload_without_the_encrypted_encoding_passes_through_unchanged() -> None:
    codec = EncryptionCodec(KeyRing.fresh())
    typed_into_the_ui = Payload(metadata={"encoding": b"json/plain"}, data=b'{"title": "x"}')

    [decoded] = await codec.decode([typed_into_the_ui])

    assert decoded == typed_into_the_ui


@pytest.mark.parametrize(
    ("what", "tamper"),
    [
        ("one bit of the ciphertext", lambda data: data[:-1] + bytes([data[-1] ^ 1])),
        ("the nonce", lambda data: bytes([data[0] ^ 1]) + data[1:]),
        ("a truncation", lambda data: data[:20]),
        ("shorter than a nonce", lambda data: data[:5]),
    ],
)
async def test_an_altered_payload_is_refused(what: str, tamper: object) -> None:
    codec = EncryptionCodec(KeyRing.fresh())
    [sealed] = await codec.encode([plain_payload()])
    assert callable(tamper)
    altered = Payload(metadata=dict(sealed.metadata), data=tamper(sealed.data))

    with pytest.raises(PayloadDecryptionError, match="does not decrypt: it was altered"):
        await codec.decode([altered])


async def test_an_encrypted_payload_without_a_key_id_is_refused() -> None:
    codec = EncryptionCodec(KeyRing.fresh())
    [sealed] = await codec.encode([plain_payload()])
    anonymous = Payload(metadata={"encoding": ENCODING}, data=sealed.data)

    with pytest.raises(PayloadDecryptionError, match=f"without {KEY_ID}"):
        await codec.decode([anonymous])


# --- the key file ----------------------------------------------------------------------------


def test_a_new_key_file_has_one_current_key_and_only_its_owner_may_read_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "keys" / "codec-keys.json"

    ring, created = ensure_key_file(path)
    again, created_again = ensure_key_file(path)

    assert created
    assert not created_again
    assert again == ring  # an existing file is read, never replaced
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = json.loads(path.read_text(encoding="utf-8"))
    assert stored["current"] == ring.current
    assert list(stored["keys"]) == [ring.current]


def test_rotation_adds_a_current_key_and_keeps_the_old_ones(tmp_path: Path) -> None:
    path = tmp_path / "codec-keys.json"
    first, _ = ensure_key_file(path)

    rotated = rotate_key_file(path)

    assert read_key_file(path) == rotated
    assert rotated.current != first.current
    assert rotated.keys[first.current] == first.keys[first.current]
    assert set(rotated.keys) == {first.current, rotated.current}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_key_file_others_may_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "codec-keys.json"
    ensure_key_file(path)
    path.chmod(0o640)

    with pytest.raises(
        CodecKeyError, match=r"other users may read the codec keys \(mode 640\); run `chmod 600 "
    ):
        read_key_file(path)


def test_a_missing_key_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(CodecKeyError, match="no codec key file — `lotse dev` creates one"):
        read_key_file(tmp_path / "codec-keys.json")


@pytest.mark.parametrize(
    ("ring", "problem"),
    [
        ({"current": "a", "keys": {"b": "A" * 43 + "="}}, "current: 'a' is not among the keys"),
        ({"current": "a", "keys": {"a": "c2hvcnQ="}}, "key 'a' is 5 bytes, not 32"),
        ({"current": "a", "keys": {"a": "not base64!"}}, "key 'a' is not base64"),
        ({"current": "a b", "keys": {}}, "current: String should match pattern"),
        ({"keys": {}}, "current: Field required"),
        ({"current": "a", "keys": {"a": "A" * 43 + "="}, "extra": 1}, "extra: Extra inputs"),
    ],
)
def test_a_malformed_key_ring_is_refused_naming_the_source_and_field(
    ring: dict[str, object], problem: str
) -> None:
    with pytest.raises(CodecKeyError) as refused:
        KeyRing.parse(json.dumps(ring), "LOTSE_CODEC_KEYS")

    assert str(refused.value).startswith("LOTSE_CODEC_KEYS: ")
    assert problem in str(refused.value)


def test_key_material_never_appears_in_a_ring_s_repr() -> None:
    ring = KeyRing.fresh()

    assert ring.keys[ring.current] not in repr(ring)
