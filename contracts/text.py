"""Text that people type into Lotse: the rules every free-text field and staff reference obeys.

Titles, locations, notes and reasons become e-mail subjects and lines in the record; findings
and measures are paragraphs. All of it lands in Temporal's history and the event store as plain
text, kept for years. So, at the boundary (the declaration and the updates):

- a single-line field has no control character at all (C0, DEL, C1, U+2028/2029): a line break
  in a title would otherwise break every e-mail header built from it;
- a multi-line field may hold line breaks (`\\n`; `\\r\\n` is read as `\\n`) but nothing else;
- free text describes the situation, never people: no e-mail addresses or phone numbers;
- a staff reference is a role or staff number, never a person's name.

The messages are written to be read through `describe_validation_error` as `field: message`,
so they raise `PydanticCustomError` (no "Value error," prefix) and never repeat the refused
value: an error message ends up in Temporal's history too.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, Strict, StringConstraints
from pydantic_core import PydanticCustomError

SYSTEM_STAFF_REF = "lotse-system"
"""The staff reference of Lotse's own steps (timers, deliveries); no person may use it."""

# C0 controls, DEL, C1 controls (Unicode category Cc), the line and paragraph separators, and
# unpaired surrogates, which no e-mail or UTF-8 encoder can carry.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_MULTILINE_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A run of digits that may be spaced or grouped as phone numbers are written.
_DIGIT_RUN = re.compile(r"\+?\(?\d[\d \u00a0/()-]*\d\)?")
# Dates written with slashes or dashes (05/12/2026, 5-12-26) are runs of digits too.
_DATE = re.compile(r"\d{1,2}[/-]\d{1,2}[/-]\d{2,4}")
# "Tel. 351234" names a phone number even without an area code.
_PHONE_WORD = re.compile(r"(?i)\b(?:tel(?:efon)?|handy|mobil|fax|phone)\b\.?:?\s*(?=[+(\d])")
PHONE_MIN_DIGITS = 7
_PHONE_WORD_MIN_DIGITS = 5

# Two or more words of letters (a word may hold '-' or an apostrophe: Müller-Lüdenscheidt),
# joined by '.', '_', ',' or spaces, with no digit anywhere: max.mustermann, Erika Musterfrau.
_WORD = r"[^\W\d_]+(?:['-][^\W\d_]+)*"
_NAME_LIKE = re.compile(rf"{_WORD}(?:[\s._,]+{_WORD})+\.?")

NO_CONTACT_DATA = (
    "free text is for the situation, never for people: no e-mail addresses or phone numbers"
)
STAFF_REF_RULE = "a role or staff number such as lagedienst-1 — never a person's name"


def _describe_character(char: str) -> str:
    code = f"U+{ord(char):04X}"
    if char in _LINE_BREAKS:
        return f"a line break ({code})"
    if char == "\t":
        return f"a tab ({code})"
    if "\ud800" <= char <= "\udfff":
        return f"half of a surrogate pair ({code})"
    name = unicodedata.name(char, "")
    return f"a control character ({code}{' ' + name if name else ''})"


def single_line(value: str) -> str:
    """Refuse every control character, line breaks and tabs included."""
    if found := _CONTROL.search(value):
        raise PydanticCustomError(
            "single_line",
            "must be one line without control characters; found {character} at character "
            "{position}",
            {"character": _describe_character(found.group()), "position": found.start() + 1},
        )
    return value


def multi_line(value: str) -> str:
    """Keep line breaks (`\\r\\n` becomes `\\n`), refuse every other control character."""
    value = value.replace("\r\n", "\n")
    if found := _MULTILINE_CONTROL.search(value):
        raise PydanticCustomError(
            "control_character",
            "may hold line breaks but no other control characters; found {character} at "
            "character {position}",
            {"character": _describe_character(found.group()), "position": found.start() + 1},
        )
    return value


def find_phone_number(text: str) -> int | None:
    """Where the first thing that looks like a phone number starts, or None.

    A phone number is a run of at least seven digits, spaced or grouped with ' ', '/', '-',
    '(' and ')', that starts with '+' or '0' (`0351 1234567`, `+49 351 123456`,
    `0170/1234567`), or any run of five digits after "Tel", "Telefon", "Handy", "Mobil" or
    "Fax". Dates and times (`05.12.2026`, `2026-12-05`, `17:05`), counts (`120 Verletzte`)
    and year ranges (`2025-2026`) are not.
    """
    for run in _DIGIT_RUN.finditer(text):
        number = run.group()
        digits = sum(char.isdigit() for char in number)
        leading = number.lstrip("+(")
        if digits < PHONE_MIN_DIGITS or _DATE.fullmatch(number):
            continue
        if number.startswith("+") or leading.startswith("0"):
            return run.start()
    for word in _PHONE_WORD.finditer(text):
        after = _DIGIT_RUN.match(text, word.end())
        if after and sum(char.isdigit() for char in after.group()) >= _PHONE_WORD_MIN_DIGITS:
            return word.start()
    return None


def no_contact_data(value: str) -> str:
    """Refuse e-mail addresses and phone numbers in free text (the rule is in the message)."""
    if found := _EMAIL.search(value):
        raise PydanticCustomError(
            "contact_data",
            NO_CONTACT_DATA + " — this holds an e-mail address (at character {position})",
            {"position": found.start() + 1},
        )
    position = find_phone_number(value)
    if position is not None:
        raise PydanticCustomError(
            "contact_data",
            NO_CONTACT_DATA + " — this holds what looks like a phone number (at character "
            "{position}: seven or more digits starting with 0 or +); write dates as 05.12.2026 "
            "and times as 17:05",
            {"position": position + 1},
        )
    return value


def looks_like_a_name(staff_ref: str) -> bool:
    """Two or more words of letters joined by '.', '_', ',' or spaces, without any digit."""
    return _NAME_LIKE.fullmatch(staff_ref.strip()) is not None


def check_operator_staff_ref(staff_ref: str) -> None:
    """Refuse what no person may act as: a name, a phone number, Lotse's own reference."""
    if staff_ref.strip().casefold() == SYSTEM_STAFF_REF:
        raise PydanticCustomError(
            "reserved_staff_ref",
            "staff_ref '{reserved}' is reserved for Lotse's own steps; give {rule}",
            {"reserved": SYSTEM_STAFF_REF, "rule": STAFF_REF_RULE},
        )
    if looks_like_a_name(staff_ref):
        raise PydanticCustomError(
            "staff_ref_is_a_name",
            "staff_ref must be {rule}; words joined by '.', '_' or a space without a digit "
            "read as a name (join the words of a role with '-', e.g. lagedienst-nord)",
            {"rule": STAFF_REF_RULE},
        )
    if find_phone_number(staff_ref) is not None:
        raise PydanticCustomError(
            "staff_ref_is_a_phone_number",
            "staff_ref must be {rule}; this looks like a phone number",
            {"rule": STAFF_REF_RULE},
        )


def refuse_bool(value: Any) -> Any:
    """JSON `true` is no number of seconds: pydantic would read it as one second."""
    if isinstance(value, bool):
        raise PydanticCustomError(
            "duration_type",
            "a duration is ISO 8601 (e.g. PT10M) or a number of seconds, not true or false",
        )
    return value


NO_PEOPLE = (
    "Describe the situation, never people: no names, e-mail addresses or phone numbers "
    "(this text is kept in Temporal's history and the record for years)."
)

TITLE_MAX = 200
LOCATION_MAX = 200
REMARK_MAX = 2000
PARAGRAPH_MAX = 1000
REFLECTION_ITEMS_MAX = 30
REFLECTION_CHARS_MAX = 12_000

# Strict: a number is not a title. Whitespace at either end is dropped before the length is
# counted; the line rule runs before the contact-data rule, so a line break is named as such.
Title = Annotated[
    str,
    Strict(),
    StringConstraints(strip_whitespace=True, min_length=3, max_length=TITLE_MAX),
    AfterValidator(single_line),
    AfterValidator(no_contact_data),
    Field(description=f"What happened, in one line. {NO_PEOPLE}"),
]
Location = Annotated[
    str,
    Strict(),
    StringConstraints(strip_whitespace=True, min_length=2, max_length=LOCATION_MAX),
    AfterValidator(single_line),
    AfterValidator(no_contact_data),
    Field(description=f"Where: a place, in one line. {NO_PEOPLE}"),
]
Remark = Annotated[
    str,
    Strict(),
    StringConstraints(strip_whitespace=True, min_length=3, max_length=REMARK_MAX),
    AfterValidator(single_line),
    AfterValidator(no_contact_data),
]
"""A one-line remark such as a reason; the model's field gives the description."""
Paragraph = Annotated[
    str,
    Strict(),
    StringConstraints(strip_whitespace=True, min_length=3, max_length=PARAGRAPH_MAX),
    AfterValidator(multi_line),
    AfterValidator(no_contact_data),
]
"""One finding or measure: line breaks allowed."""

Duration = Annotated[timedelta, BeforeValidator(refuse_bool)]
"""A duration: ISO 8601 (`PT10M`) or seconds, never a boolean."""
