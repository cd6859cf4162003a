"""Sealing contact data with a person's key: only that key and that person open it."""

from __future__ import annotations

import base64
import uuid

import pytest

from domain.keys import new_key
from domain.sealing import NONCE_BYTES, UnsealError, seal, unseal
from tests.people_support import ERIKA


def test_sealed_contact_data_opens_with_the_persons_key_and_holds_no_plaintext() -> None:
    key, person = new_key(), uuid.uuid4()
    sealed = seal(ERIKA, key, person)
    assert unseal(sealed, key, person) == ERIKA
    raw = base64.b64decode(sealed)
    for plaintext in ("Quellmalz", "555 0100", "example.org", "Beispielweg"):
        assert plaintext not in sealed
        assert plaintext.encode() not in raw


def test_each_seal_uses_a_fresh_nonce() -> None:
    key, person = new_key(), uuid.uuid4()
    first, second = seal(ERIKA, key, person), seal(ERIKA, key, person)
    assert first != second
    assert base64.b64decode(first)[:NONCE_BYTES] != base64.b64decode(second)[:NONCE_BYTES]


def test_another_key_another_person_or_an_altered_text_do_not_open_it() -> None:
    key, person = new_key(), uuid.uuid4()
    sealed = seal(ERIKA, key, person)
    with pytest.raises(UnsealError, match="does not open"):
        unseal(sealed, new_key(), person)
    with pytest.raises(UnsealError, match="does not open"):
        unseal(sealed, key, uuid.uuid4())
    raw = bytearray(base64.b64decode(sealed))
    raw[-1] ^= 1
    with pytest.raises(UnsealError, match="does not open"):
        unseal(base64.b64encode(bytes(raw)).decode(), key, person)
    with pytest.raises(UnsealError, match="does not open"):
        unseal("not base64 at all!", key, person)
