"""AES-GCM payload codec: what Temporal stores is ciphertext, readable only with the key ring.

An encrypted payload has the metadata `encoding = binary/encrypted` (Temporal's convention,
which the UI and CLI recognise) and `encryption-key-id = <key id>`; its data is a 12-byte nonce
followed by the AES-256-GCM ciphertext of the whole original `Payload` message, so decoding
restores the original metadata (`json/plain`, …) as well. This is the layout of Temporal's
encryption samples, without associated data, so a codec server written for them reads ours.

Decoding leaves every payload that is not `binary/encrypted` unchanged: plain JSON typed into the
UI's start form without a codec server, and histories recorded before the codec, keep working.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from codec.keys import CodecKeyError, KeyRing

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12


class PayloadDecryptionError(CodecKeyError):
    """A payload marked encrypted cannot be decrypted: unknown key id, altered, or truncated."""


class EncryptionCodec(PayloadCodec):
    """Encrypts with the ring's current key; decrypts with whichever key a payload names."""

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring
        self._ciphers = {key_id: AESGCM(ring.key(key_id)) for key_id in ring.keys}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        """The payload sealed with the current key."""
        key_id = self.ring.current
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(), None)
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID: key_id.encode()},
            data=nonce + sealed,
        )

    def decrypt(self, payload: Payload) -> Payload:
        """The original payload; a payload that is not encrypted is returned as it is."""
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        raw_id = payload.metadata.get(KEY_ID)
        if raw_id is None:
            raise PayloadDecryptionError(f"encrypted payload without {KEY_ID} metadata")
        key_id = raw_id.decode("utf-8", "replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            known = ", ".join(sorted(self._ciphers))
            raise PayloadDecryptionError(
                f"payload encrypted with key id {key_id!r}, which is not in the codec key ring "
                f"(known: {known}); restore that key into the key file or LOTSE_CODEC_KEYS"
            )
        try:
            plain = cipher.decrypt(payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], None)
        except (InvalidTag, ValueError):  # ValueError: shorter than a nonce
            raise PayloadDecryptionError(
                f"payload encrypted with key id {key_id!r} does not decrypt: it was altered "
                "or truncated, or the key of that id is not the one it was encrypted with"
            ) from None
        original = Payload()
        original.ParseFromString(plain)
        return original
