"""Whether two registrations are the same person: names compared as written out, their sound
by Kölner Phonetik, both only as keyed hashes with the date of birth. Invented names."""

from __future__ import annotations

from datetime import date

import pytest

from domain.identity import cologne_phonetic, identity_keys, name_sound, name_words

KEY = bytes(range(32))
BORN = date(1984, 3, 7)


@pytest.mark.parametrize(
    ("word", "code"),
    [
        ("Wikipedia", "3412"),
        ("Breschnew", "17863"),
        ("Christoph", "47823"),
        ("Lüdenscheidt", "52682"),
        ("Müller", "657"),
        ("Mueller", "657"),
        ("Meier", "67"),
        ("Mayer", "67"),
        ("Maier", "67"),
        ("Schmidt", "862"),
        ("Schmitt", "862"),
    ],
)
def test_cologne_phonetics_gives_the_published_codes(word: str, code: str) -> None:
    assert cologne_phonetic(word) == code


def test_names_compare_without_case_order_accents_hyphens_or_umlauts() -> None:
    same = ["Anna-Lena Müller", "MÜLLER, Anna Lena", "anna lena mueller", "Anna Léna Müller"]
    assert {tuple(name_words(name)) for name in same} == {("anna", "lena", "mueller")}
    assert name_words("Jörg Straße") == ["joerg", "strasse"]


def test_the_same_name_and_birth_date_give_the_same_exact_key() -> None:
    first = identity_keys("Anna-Lena Müller", BORN, KEY)
    second = identity_keys("MUELLER, Anna Lena", BORN, KEY)
    assert first == second


def test_a_spelling_variant_shares_only_the_sound_key() -> None:
    meier = identity_keys("Jonas Meier", BORN, KEY)
    mayer = identity_keys("Jonas Mayer", BORN, KEY)
    assert meier.exact != mayer.exact
    assert meier.sound == mayer.sound
    assert name_sound("Jonas Meier") == name_sound("Jonas Mayer")


def test_another_birth_date_is_another_person_even_with_the_same_name() -> None:
    one = identity_keys("Anna-Lena Müller", BORN, KEY)
    other = identity_keys("Anna-Lena Müller", date(1984, 3, 8), KEY)
    assert one.exact != other.exact
    assert one.sound != other.sound


def test_the_keys_hold_no_plaintext_and_depend_on_the_key() -> None:
    keys = identity_keys("Anna-Lena Müller", BORN, KEY)
    assert "mueller" not in keys.exact
    assert "1984" not in keys.exact
    assert keys != identity_keys("Anna-Lena Müller", BORN, bytes(32))


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        identity_keys("Anna Müller", BORN, b"short")
