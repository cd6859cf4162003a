"""Whether two registrations are the same person, without comparing plaintext.

The lists that arrive after an attack spell one person differently: `Müller` and `Mueller`,
`Anna-Lena Meier` and `Meier, Anna Lena`, `José` and `Jose`. A registration is reduced to keys:

- the *name*: lower case, umlauts and ß written out (`ü` → `ue`, `ß` → `ss`), other accents
  removed, hyphens, commas and dots read as spaces, the words sorted — so token order and a
  double first name with or without its hyphen do not matter;
- the *sound* of the name: Kölner Phonetik (Postel 1969), made for German names, of each word,
  sorted — `Meier`, `Mayer` and `Maier` sound alike, and so do `Müller` and `Mueller`.

Each is joined with the date of birth and hashed with HMAC-SHA256 under a key from the
settings, so the record and every comparison hold keyed hashes only: without the key a hash
cannot be tested against a guessed name. The same name with the same date of birth is the same
person; the same sound with the same date of birth is *likely* the same person, which an
operator confirms or rejects; another date of birth is another person.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

_WRITTEN_OUT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_SEPARATORS = re.compile(r"[\s\-,.;/'’`]+")
_NOT_A_LETTER = re.compile(r"[^a-z]")


def name_words(name: str) -> list[str]:
    """The words of a name as compared: written out, without accents, lower case, sorted."""
    text = unicodedata.normalize("NFC", name).casefold().translate(_WRITTEN_OUT)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(char for char in text if not unicodedata.combining(char))
    words = (_NOT_A_LETTER.sub("", word) for word in _SEPARATORS.split(text))
    return sorted(word for word in words if word)


# Kölner Phonetik: the code of each letter, some depending on their neighbours.
_PLAIN = {
    **dict.fromkeys("aeijouy", "0"),
    "h": "",
    "b": "1",
    **dict.fromkeys("fvw", "3"),
    **dict.fromkeys("gkq", "4"),
    "l": "5",
    **dict.fromkeys("mn", "6"),
    "r": "7",
    **dict.fromkeys("sz", "8"),
}


def cologne_phonetic(word: str) -> str:
    """The Kölner Phonetik code of one word (`Müller` → `657`, `Meier` → `67`)."""
    letters = list("".join(name_words(word)))
    codes = [_code(letters, index) for index in range(len(letters))]
    # Collapse repeats, then drop every "0" but a leading one.
    collapsed: list[str] = []
    for code in "".join(codes):
        if not collapsed or collapsed[-1] != code:
            collapsed.append(code)
    if not collapsed:
        return ""
    return collapsed[0] + "".join(code for code in collapsed[1:] if code != "0")


def _code(letters: list[str], index: int) -> str:
    letter = letters[index]
    before = letters[index - 1] if index > 0 else ""
    after = letters[index + 1] if index + 1 < len(letters) else ""
    if letter in _PLAIN:
        return _PLAIN[letter]
    if letter == "p":
        return "3" if after == "h" else "1"
    if letter in "dt":
        return "8" if after in ("c", "s", "z") else "2"
    if letter == "x":
        return "8" if before in ("c", "k", "q") else "48"
    if letter == "c":
        if index == 0:
            return "4" if after in tuple("ahkloqrux") else "8"
        if before in ("s", "z"):
            return "8"
        return "4" if after in tuple("ahkoqux") else "8"
    return ""


def name_sound(name: str) -> list[str]:
    """The Kölner Phonetik of each word of a name, sorted."""
    return sorted(code for code in (cologne_phonetic(word) for word in name_words(name)) if code)


@dataclass(frozen=True)
class IdentityKeys:
    """Keyed hashes of one registration: `exact` of name and date of birth, `sound` of the
    name's sound and date of birth. Hex text, safe to store and compare."""

    exact: str
    sound: str


def identity_keys(name: str, born: date | None, key: bytes) -> IdentityKeys:
    """The keys of one registration under `key` (at least 32 bytes, from the settings)."""
    if len(key) < 32:
        raise ValueError("the identity key must have at least 32 bytes")
    birth = born.isoformat() if born is not None else "-"
    return IdentityKeys(
        exact=_keyed(key, "name", " ".join(name_words(name)), birth),
        sound=_keyed(key, "sound", " ".join(name_sound(name)), birth),
    )


def _keyed(key: bytes, kind: str, text: str, birth: str) -> str:
    message = f"{kind}\x1f{text}\x1f{birth}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
