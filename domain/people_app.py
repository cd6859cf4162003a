"""The application's commands and queries for affected people (a mixin of `LotseApplication`).

Contact data is sealed here with the person's key before the command records it, and opened
here only when a query asks for it; nothing opened is kept. Erasure records
`PersonalDataErased` first and then destroys the key, so a failure in between leaves a record
that says erased and a key that the next try destroys.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Repository
from eventsourcing.persistence import IntegrityError, Mapper

from contracts.case_rules import ReferralAction
from contracts.messages import CommandContext
from contracts.people import (
    AssessedNeed,
    CaseCloseReason,
    ConsentScope,
    ContactData,
    DeclineReason,
    PersonRegistration,
    ReferralTarget,
)
from contracts.vocabulary import NeedCategory
from domain import ids
from domain.damage import in_order, naming, person_stream
from domain.errors import PersonAlreadyRegisteredError, PersonErasedError, PersonNotFoundError
from domain.history import HistoryEntry, history_entry
from domain.keys import KeyMissingError, KeyStore
from domain.people_views import ERASED, UNREADABLE, ContactView, contact_view, export
from domain.person import PERSON_EVENT_TOPICS, AffectedPerson
from domain.person_streams import fold_person, person_streams
from domain.projecting import apply_to_any
from domain.sealing import UnsealError, seal, unseal

if TYPE_CHECKING:
    from domain.incident import Incident


class PeopleMixin:
    """Affected people in the record. Needs the application's repository and its
    `_run_command`; `keys` is the person key store (closed with the application)."""

    keys: KeyStore

    if TYPE_CHECKING:
        repository: Repository[UUID]
        mapper: Mapper[UUID]

        def save(self, *objs: Any, **kwargs: Any) -> Any: ...
        def incident(self, incident_key: str, version: int | None = None) -> Incident: ...
        def _incident_lock(self, incident_key: str) -> threading.Lock: ...
        def _notifications(self, topics: list[str]) -> Iterator[Any]: ...
        def _run_command(
            self,
            lock: threading.Lock,
            kept: Callable[[], AffectedPerson],
            ctx: CommandContext,
            command: Callable[[AffectedPerson], None],
        ) -> AffectedPerson: ...

    def close(self) -> None:
        self.keys.close()
        super().close()  # type: ignore[misc]  # Application.close, next in the MRO

    # --- commands -------------------------------------------------------------------------

    def register_person(
        self, incident_key: str, registration: PersonRegistration, ctx: CommandContext
    ) -> AffectedPerson:
        """Register a person of a declared incident and make the person's key; a repeat of
        the same command returns the first registration."""
        self.incident(incident_key)  # IncidentNotFoundError if not declared
        person_ref = registration.person_ref
        existing = self._registered(incident_key, person_ref, ctx)
        if existing is not None:
            return existing
        self.keys.create(ids.person_id(incident_key, person_ref))
        person = AffectedPerson(incident_key=incident_key, registration=registration, ctx=ctx)
        try:
            self.save(person)
        except IntegrityError:  # registered at the same moment by another writer
            existing = self._registered(incident_key, person_ref, ctx)
            if existing is None:
                raise
            return existing
        return person

    def _registered(
        self, incident_key: str, person_ref: str, ctx: CommandContext
    ) -> AffectedPerson | None:
        try:
            existing = self.person(incident_key, person_ref)
        except PersonNotFoundError:
            return None
        if existing.has_applied(ctx):
            return existing
        raise PersonAlreadyRegisteredError(
            f"person {person_ref} is already registered for incident '{incident_key}'"
        )

    def record_contact(
        self, incident_key: str, person_ref: str, contact: ContactData, ctx: CommandContext
    ) -> AffectedPerson:
        """Seal `contact` with the person's key and record it in place of any earlier one."""
        person_id = ids.person_id(incident_key, person_ref)
        sealed = seal(contact, self._key(incident_key, person_ref), person_id)
        return self._person_command(
            incident_key, person_ref, ctx, lambda p: p.record_contact(sealed, ctx)
        )

    def give_consent(
        self, incident_key: str, person_ref: str, scope: ConsentScope, ctx: CommandContext
    ) -> AffectedPerson:
        return self._person_command(
            incident_key, person_ref, ctx, lambda p: p.give_consent(scope, ctx)
        )

    def withdraw_consent(
        self, incident_key: str, person_ref: str, recipient: str, ctx: CommandContext
    ) -> AffectedPerson:
        """Withdraw consent for `recipient`, and the live referrals it no longer covers."""
        return self._person_command(
            incident_key, person_ref, ctx, lambda p: p.withdraw_consent(recipient, ctx)
        )

    def assess_needs(
        self,
        incident_key: str,
        person_ref: str,
        needs: list[AssessedNeed],
        due_at: datetime,
        ctx: CommandContext,
    ) -> AffectedPerson:
        return self._person_command(
            incident_key, person_ref, ctx, lambda p: p.assess_needs(needs, due_at, ctx)
        )

    def propose_referral(
        self,
        incident_key: str,
        person_ref: str,
        referral_id: str,
        category: NeedCategory,
        target: ReferralTarget,
        explanation: str,
        ctx: CommandContext,
    ) -> AffectedPerson:
        """Propose a referral; refused with `ConsentMissingError` unless valid consent for
        the offer or its provider covers it."""
        return self._person_command(
            incident_key,
            person_ref,
            ctx,
            lambda p: p.propose_referral(referral_id, category, target, explanation, ctx),
        )

    def advance_referral(
        self,
        incident_key: str,
        person_ref: str,
        referral_id: str,
        action: ReferralAction,
        ctx: CommandContext,
        *,
        due_at: datetime | None = None,
        reason: DeclineReason | None = None,
        at: datetime | None = None,
        why: str | None = None,
    ) -> AffectedPerson:
        """One step of a referral; see `AffectedPerson.advance_referral` for what each needs."""
        return self._person_command(
            incident_key,
            person_ref,
            ctx,
            lambda p: p.advance_referral(
                referral_id, action, ctx, due_at=due_at, reason=reason, at=at, why=why
            ),
        )

    def escalate_need(
        self,
        incident_key: str,
        person_ref: str,
        category: NeedCategory,
        why: str,
        due_at: datetime,
        ctx: CommandContext,
    ) -> AffectedPerson:
        return self._person_command(
            incident_key, person_ref, ctx, lambda p: p.escalate_need(category, why, due_at, ctx)
        )

    def record_follow_up(
        self,
        incident_key: str,
        person_ref: str,
        number: int,
        met: list[NeedCategory],
        unmet: list[NeedCategory],
        ctx: CommandContext,
    ) -> AffectedPerson:
        return self._person_command(
            incident_key, person_ref, ctx, lambda p: p.record_follow_up(number, met, unmet, ctx)
        )

    def close_case(
        self, incident_key: str, person_ref: str, reason: CaseCloseReason, ctx: CommandContext
    ) -> AffectedPerson:
        return self._person_command(
            incident_key, person_ref, ctx, lambda p: p.close_case(reason, ctx)
        )

    def erase_person(
        self, incident_key: str, person_ref: str, ctx: CommandContext
    ) -> AffectedPerson:
        """Record `PersonalDataErased` (once), then destroy the person's key. A repeat, or a
        retry after the key was already destroyed, records nothing more."""
        person = self._person_command(incident_key, person_ref, ctx, lambda p: p.erase(ctx))
        self.keys.destroy(person.id)
        return person

    def _person_command(
        self,
        incident_key: str,
        person_ref: str,
        ctx: CommandContext,
        command: Callable[[AffectedPerson], None],
    ) -> AffectedPerson:
        # One lock table with the incidents': "/" cannot occur in an incident key.
        lock = self._incident_lock(f"person/{incident_key}/{person_ref}")
        return self._run_command(
            lock, lambda: self._get_person(incident_key, person_ref, copy=False), ctx, command
        )

    # --- queries --------------------------------------------------------------------------

    def person(
        self, incident_key: str, person_ref: str, version: int | None = None
    ) -> AffectedPerson:
        """The person's case now (a copy), or as it was at aggregate `version`."""
        if version is not None:
            return self._get_person(incident_key, person_ref, version=version)
        with self._incident_lock(f"person/{incident_key}/{person_ref}"):
            return self._get_person(incident_key, person_ref)

    def people_of(self, incident_key: str) -> list[AffectedPerson]:
        """Every person registered for the incident, in the order of registration.

        Built in one pass over the person events of the notification log, not one read per
        person: the incident may have thousands (a read each took 5 ms at 200 people). A person
        of the incident whose record cannot be read is a `DamagedRecordError` naming them;
        another incident's damaged person changes nothing here (domain/person_streams.py)."""
        self.incident(incident_key)
        notifications = self._notifications(topics=PERSON_EVENT_TOPICS)
        streams = person_streams(notifications, self.mapper, incident_key)
        return [fold_person(incident_key, events) for events in streams.values()]

    def contact_of(self, incident_key: str, person_ref: str) -> ContactData | None:
        """The person's contact data, opened now; None if none was recorded.
        `PersonErasedError` once the person's data was erased."""
        person = self.person(incident_key, person_ref)
        if person.erased or self.keys.destroyed(person.id):
            raise PersonErasedError(f"the personal data of person {person_ref} was erased")
        if person.sealed_contact is None:
            return None
        return unseal(person.sealed_contact, self._key(incident_key, person_ref), person.id)

    def person_history(self, incident_key: str, person_ref: str) -> list[HistoryEntry]:
        """Every event of the person's case; `ContactRecorded` shows the contact opened, or
        `erased` once the key is destroyed, never the sealed text."""
        person_id = ids.person_id(incident_key, person_ref)
        with naming(person_stream(incident_key, person_ref)):
            events = list(in_order(self.repository.event_store.get(person_id)))
        if not events:
            raise self._not_found(incident_key, person_ref)
        key = self.keys.key(person_id)
        entries = []
        for event in events:
            entry = history_entry(event)
            if "sealed" in entry.details:
                details = dict(entry.details)
                opened = _open(details.pop("sealed"), key, person_id)
                entry = entry.model_copy(update={"details": details | {"contact": opened}})
            entries.append(entry)
        return entries

    def export_person(self, incident_key: str, person_ref: str) -> dict[str, Any]:
        """What the record holds about the person (Art. 15 GDPR), JSON-serialisable."""
        person = self.person(incident_key, person_ref)
        history = self.person_history(incident_key, person_ref)
        key = self.keys.key(person.id)
        contact = _open(person.sealed_contact, key, person.id) if person.sealed_contact else None
        if person.erased:
            contact = ERASED
        return export(person, contact, history)

    # --- helpers --------------------------------------------------------------------------

    def _key(self, incident_key: str, person_ref: str) -> bytes:
        person_id = ids.person_id(incident_key, person_ref)
        key = self.keys.key(person_id)
        if key is not None:
            return key
        if self.keys.destroyed(person_id):
            raise PersonErasedError(f"the personal data of person {person_ref} was erased")
        self.person(incident_key, person_ref)  # PersonNotFoundError first, if so
        raise KeyMissingError(
            f"the key store has no key for person {person_ref}: is the application using the "
            "key store of this event store?"
        )

    def _get_person(
        self,
        incident_key: str,
        person_ref: str,
        version: int | None = None,
        copy: bool = True,
    ) -> AffectedPerson:
        try:
            with naming(person_stream(incident_key, person_ref)):
                found: object = self.repository.get(
                    ids.person_id(incident_key, person_ref),
                    version=version,
                    projector_func=apply_to_any,
                    deepcopy_from_cache=copy,
                )
        except AggregateNotFoundError:
            raise self._not_found(incident_key, person_ref) from None
        if not isinstance(found, AffectedPerson):
            raise TypeError(f"aggregate for person {person_ref} is a {type(found)}")
        return found

    @staticmethod
    def _not_found(incident_key: str, person_ref: str) -> PersonNotFoundError:
        return PersonNotFoundError(
            f"no person {person_ref} is registered for incident '{incident_key}'"
        )


def _open(sealed: str, key: bytes | None, person_id: UUID) -> ContactView:
    if key is None:
        return ERASED
    try:
        return contact_view(unseal(sealed, key, person_id))
    except UnsealError:
        return UNREADABLE
