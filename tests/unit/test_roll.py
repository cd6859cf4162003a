"""The incident's roll (issue #8): one reference per person across lists, from identity keys
alone — a listing seen again changes nothing, the same person from another list is linked,
a person who only sounds alike (or has no date of birth) is put to an operator."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from contracts.messages import Actor, CommandContext
from contracts.people import RegistrationSource
from domain.errors import DuplicateNotFoundError
from domain.identity import identity_keys
from domain.roll import Listing, Match, PairStatus, PeopleRoll

KEY = b"k" * 32
POLICE = RegistrationSource.POLICE_LIST
RED_CROSS = RegistrationSource.RED_CROSS


def ctx(command_id: str = "c-1") -> CommandContext:
    return CommandContext(
        command_id=command_id,
        actor=Actor(partner_id="opferbeauftragte", staff_ref="lagedienst-1"),
        channel="cli",
        business_time=datetime(2026, 11, 29, tzinfo=UTC),
    )


def listing(
    name: str, born: date | None, source: RegistrationSource = POLICE, row: int = 2
) -> Listing:
    keys = identity_keys(name, born, KEY)
    return Listing(source, keys.exact, keys.sound, born is not None, row)


def nobody(ref: str) -> bool:
    return False


def test_a_new_person_gets_the_next_reference_of_the_list_it_came_from() -> None:
    roll = PeopleRoll(incident_key="i-1", ctx=ctx())
    first = roll.place(listing("Jörg Zyxmüller", date(1984, 3, 7)), nobody, ctx("a"))
    second = roll.place(listing("Lena Beispielsen", date(2001, 12, 5), RED_CROSS), nobody, ctx())
    third = roll.place(listing("Anna Qwertz", date(1990, 1, 1)), nobody, ctx("b"))
    assert (first.ref, first.match) == ("PL-00001", Match.NEW)
    assert (second.ref, third.ref) == ("RK-00001", "PL-00002")


def test_a_reference_typed_by_hand_is_skipped() -> None:
    roll = PeopleRoll(incident_key="i-1", ctx=ctx())
    placed = roll.place(listing("Jörg Zyxmüller", date(1984, 3, 7)), "PL-00001".__eq__, ctx())
    assert placed.ref == "PL-00002"


def test_the_same_listing_again_is_seen_and_records_nothing() -> None:
    roll = PeopleRoll(incident_key="i-1", ctx=ctx())
    roll.place(listing("Jörg Zyxmüller", date(1984, 3, 7)), nobody, ctx())
    version = roll.version
    again = roll.place(listing("Joerg ZYXMUELLER", date(1984, 3, 7)), nobody, ctx())
    assert (again.ref, again.match) == ("PL-00001", Match.SEEN)
    assert roll.version == version


def test_the_same_person_on_another_list_is_linked_and_a_near_miss_is_not() -> None:
    roll = PeopleRoll(incident_key="i-1", ctx=ctx())
    roll.place(listing("Anna-Lena Qwertzweiß", date(1990, 11, 2)), nobody, ctx())
    linked = roll.place(
        listing("Qwertzweiss, Anna Lena", date(1990, 11, 2), RED_CROSS), nobody, ctx()
    )
    other = roll.place(listing("Anna-Lena Qwertzweiß", date(1991, 11, 2), RED_CROSS), nobody, ctx())
    assert (linked.ref, linked.match) == ("PL-00001", Match.LINKED)
    assert (other.ref, other.match, other.pairs) == ("RK-00001", Match.NEW, ())
    assert roll.sources["PL-00001"] == ["police-list", "red-cross"]
    assert roll.pending() == []


def test_a_name_that_sounds_alike_is_put_to_an_operator_and_a_confirmation_merges() -> None:
    roll = PeopleRoll(incident_key="i-1", ctx=ctx())
    roll.place(listing("Jonas Meier", date(1979, 6, 1)), nobody, ctx())
    likely = roll.place(listing("Jonas Mayer", date(1979, 6, 1), RED_CROSS), nobody, ctx())
    assert (likely.ref, likely.match, likely.pairs) == ("RK-00001", Match.NEW, (1,))
    (pair,) = roll.pending()
    assert (pair.earlier, pair.later) == ("PL-00001", "RK-00001")

    roll.confirm(1, ctx())
    assert roll.pending() == []
    assert roll.pairs[1].status is PairStatus.CONFIRMED
    # The later spelling now leads to the person it joined.
    again = roll.place(listing("Jonas Mayer", date(1979, 6, 1), RED_CROSS), nobody, ctx())
    assert (again.ref, again.match) == ("PL-00001", Match.SEEN)
    assert roll.sources["PL-00001"] == ["police-list", "red-cross"]


def test_a_rejected_pair_stays_two_people_and_a_repeat_changes_nothing() -> None:
    roll = PeopleRoll(incident_key="i-1", ctx=ctx())
    roll.place(listing("Jonas Meier", date(1979, 6, 1)), nobody, ctx())
    roll.place(listing("Jonas Mayer", date(1979, 6, 1), RED_CROSS), nobody, ctx())
    roll.reject(1, ctx())
    version = roll.version
    assert roll.confirm(1, ctx()).status is PairStatus.REJECTED
    assert roll.version == version
    with pytest.raises(DuplicateNotFoundError, match="no likely duplicate 7"):
        roll.confirm(7, ctx())


def test_without_a_date_of_birth_the_same_name_is_only_likely_the_same() -> None:
    roll = PeopleRoll(incident_key="i-1", ctx=ctx())
    first = roll.place(listing("Tom Ohnedatum", None, row=4), nobody, ctx())
    second = roll.place(listing("Tom Ohnedatum", None, RED_CROSS, row=9), nobody, ctx())
    same_row_again = roll.place(listing("Tom Ohnedatum", None, row=4), nobody, ctx())
    assert (first.ref, second.ref) == ("PL-00001", "RK-00001")
    assert second.match is Match.NEW
    assert second.pairs == (1,)
    assert (same_row_again.ref, same_row_again.match) == ("PL-00001", Match.SEEN)
