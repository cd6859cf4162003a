"""Sealing a person's contact data with that person's own key (AES-256-GCM).

The sealed text is what the record stores: base64 of a random 12-byte nonce followed by the
ciphertext (with its tag) of the contact's JSON. The person's id is the associated data, so a
sealed text copied into another person's record does not open there, even with a key that fits.
"""

from __future__ import annotations

import base64
import binascii
import os
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from contracts.people import ContactData

NONCE_BYTES = 12


class UnsealError(ValueError):
    """A sealed text that this key and person id do not open (wrong key, wrong person,
    altered text)."""


def seal(contact: ContactData, key: bytes, person_id: UUID) -> str:
    nonce = os.urandom(NONCE_BYTES)
    plaintext = contact.model_dump_json().encode("utf-8")
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, person_id.bytes)
    return base64.b64encode(nonce + ciphertext).decode("ascii")


def unseal(sealed: str, key: bytes, person_id: UUID) -> ContactData:
    try:
        raw = base64.b64decode(sealed.encode("ascii"), validate=True)
        plaintext = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], person_id.bytes)
    except (InvalidTag, binascii.Error, ValueError):
        raise UnsealError(f"the sealed contact data of person {person_id} does not open") from None
    return ContactData.model_validate_json(plaintext)
