"""The application service: commands and queries over the event store (get → command → save).

Each command takes a `CommandContext`; a command id that the aggregate has applied before
returns without writing anything, so a retried activity changes nothing twice.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, Repository
from eventsourcing.domain import MutableAggregateProtocol
from eventsourcing.persistence import (
    ApplicationRecorder,
    IntegrityError,
    InternalError,
    JSONTranscoder,
    Mapper,
    ProgrammingError,
)
from eventsourcing.utils import Environment, get_topic
from pydantic import BaseModel, ConfigDict

from contracts.accountability import RecordRefusalInput
from contracts.agreement import (
    AgreementTerms,
    ContactPoint,
    FinalEscalation,
    PartnerTerms,
    Remit,
)
from contracts.messages import Actor, CommandContext, IncidentDeclaration, NeedReport
from contracts.offers import Provider, SupportOffer
from contracts.people import (
    AssessedNeed,
    ConsentScope,
    PersonRegistration,
    ReferralStatus,
    ReferralTarget,
)
from contracts.vocabulary import EscalationStep, NeedCategory
from domain import ids
from domain.agreement import Agreement
from domain.audit_reads import AuditReadsMixin
from domain.damage import CheckedMapper, CheckedRepository, in_order, naming
from domain.drill_app import DrillMixin
from domain.errors import (
    AgreementNotFoundError,
    DamagedRecordError,
    IncidentAlreadyDeclaredError,
    IncidentNotFoundError,
)
from domain.exchange_app import ExchangeMixin
from domain.history import HistoryEntry as HistoryEntry
from domain.history import history_entry
from domain.incident import Incident, NotificationOutcome
from domain.key_stores import build_key_store
from domain.keys import KeyStore
from domain.offers_app import DirectoryCommands
from domain.people_app import PeopleMixin
from domain.people_counts_app import PeopleViewMixin
from domain.projecting import apply_events as apply_events
from domain.roll_app import RollMixin
from domain.timeline_app import TimelineMixin
from domain.transcoding import PydanticModelAsDict

# Two worker processes writing one incident in quick succession can make one of them lose
# several races in a row (seen with 10 on PostgreSQL); each attempt only reads what was written
# since, so many attempts are cheap.
CONFLICT_RETRIES = 50
RECORDER_ATTEMPTS = 5
"""Tries to build the store's recorder while other processes create its tables at the same time."""
# Before a retry, wait a random moment of up to this many seconds times the attempt (at most
# CONFLICT_BACKOFF_MAX_SECONDS), so that writers that keep colliding fall out of step.
CONFLICT_BACKOFF_SECONDS = 0.002
CONFLICT_BACKOFF_MAX_SECONDS = 0.05

PLACE_ENDS = frozenset(
    {
        ReferralStatus.DECLINED,
        ReferralStatus.CLOSED,
        ReferralStatus.REROUTED,
        ReferralStatus.WITHDRAWN,
    }
)
"""A referral in one of these no longer holds a place at its offer."""


def place_key(incident_key: str, person_ref: str, referral_id: str) -> str:
    """The key under which a referral holds a place at its offer."""
    return f"{incident_key}/{person_ref}/{referral_id}"


# Incidents kept in memory per application (fast-forwarded on each read), unless the
# environment says otherwise (LOTSE_AGGREGATE_CACHE_MAXSIZE, see `Settings.event_store_env`).
DEFAULT_AGGREGATE_CACHE_MAXSIZE = 100
# Agreement versions kept once built; a recorded version never changes.
AGREEMENT_VERSIONS_KEPT = 32


EVENT_MODELS: tuple[type[BaseModel], ...] = (
    Actor,
    CommandContext,
    PartnerTerms,
    Remit,
    ContactPoint,
    FinalEscalation,
    NeedReport,
    PersonRegistration,
    ConsentScope,
    AssessedNeed,
    ReferralTarget,
    Provider,
    SupportOffer,
)


@dataclass(frozen=True)
class DamagedIncident:
    """An incident listed whose record cannot be read: its id (None when its declaration
    itself is what cannot be read) and the damage."""

    incident_key: str | None
    damage: DamagedRecordError


class Commandable(MutableAggregateProtocol[UUID], Protocol):
    """An aggregate that `_run_command` can work on: it knows the command ids it applied."""

    def has_applied(self, ctx: CommandContext) -> bool: ...


A = TypeVar("A", bound=Commandable)


class AgreementLoaded(BaseModel):
    """What a load did. `revision` is the agreement's version as people count it (1, 2, …);
    `aggregate_version` is the event-store version that replays these terms."""

    model_config = ConfigDict(frozen=True)

    agreement_key: str
    revision: int
    aggregate_version: int
    changes: list[str]


class LotseApplication(
    AuditReadsMixin,
    TimelineMixin,
    DrillMixin,
    PeopleViewMixin,
    PeopleMixin,
    RollMixin,
    DirectoryCommands,
    ExchangeMixin,
    Application[UUID],
):
    """Commands and queries of Lotse's record. Settings come from the constructor `env`; the
    person key store is built from the same settings unless `keys` is given."""

    name = "Lotse"

    def __init__(self, env: dict[str, str] | None = None, keys: KeyStore | None = None) -> None:
        super().__init__(env)
        self.keys = keys if keys is not None else build_key_store(Environment(self.name, self.env))
        self._agreement_versions: OrderedDict[tuple[str, int], Agreement] = OrderedDict()
        self._incident_locks: dict[str, threading.Lock] = {}
        self._tables_lock = threading.Lock()

    def construct_recorder(self) -> ApplicationRecorder:
        """The library's recorder, which creates the store's tables, types and functions if
        they are missing. Two workers starting at once on a new PostgreSQL store both create
        them, and PostgreSQL refuses one (`tuple concurrently updated`) while the other wins:
        try again, and the next attempt finds them made."""
        for attempt in range(1, RECORDER_ATTEMPTS + 1):
            try:
                return super().construct_recorder()
            except (InternalError, IntegrityError, ProgrammingError):
                if attempt == RECORDER_ATTEMPTS:
                    raise
                time.sleep(random.uniform(0, 0.1 * attempt))  # jitter, not secrecy
        raise AssertionError("unreachable")  # the loop returns or raises

    def construct_mapper(self) -> Mapper[UUID]:
        """The library's mapper, except that a stored event it cannot read is a
        `DamagedRecordError` naming its stream and version (domain/damage.py)."""
        return self.factory.mapper(
            transcoder=self.construct_transcoder(), mapper_class=CheckedMapper
        )

    def construct_repository(self) -> Repository[UUID]:
        """The library's repository with a cache of recent aggregates, fast-forwarded, whose
        every replay checks that no version is missing (`CheckedRepository`).

        Only the safe settings are allowed: fast-forward on every read (so what another process
        wrote is seen), never skipped, and a deep copy handed out to readers (so nothing a
        reader does reaches the kept aggregate; commands use the kept one, see `_command`)."""
        maxsize = self.env.get(self.AGGREGATE_CACHE_MAXSIZE)
        return CheckedRepository(
            event_store=self.events,
            snapshot_store=self.snapshots,
            cache_maxsize=int(maxsize) if maxsize else DEFAULT_AGGREGATE_CACHE_MAXSIZE,
            fastforward=True,
            fastforward_skipping=False,
            deepcopy_from_cache=True,
        )

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        for model in EVENT_MODELS:
            transcoder.register(PydanticModelAsDict(model))

    # --- places held by referrals ---------------------------------------------------------

    def release_ended_places(self, incident_key: str, person_ref: str, ctx: CommandContext) -> None:
        """Give back the place at its offer of every referral of the person that has ended
        (declined, re-routed, withdrawn, closed — an erasure included). Idempotent: a place
        given back before is not given back twice."""
        person = self.person(incident_key, person_ref)
        for referral in person.referrals.values():
            if referral.status in PLACE_ENDS:
                key = place_key(incident_key, person_ref, referral.referral_id)
                self.release_place(referral.target.offer_id, key, ctx)

    # --- agreement ------------------------------------------------------------------------

    def load_agreement(self, terms: AgreementTerms, ctx: CommandContext) -> AgreementLoaded:
        """Record `terms` as the agreement in force; identical terms record nothing."""
        try:
            agreement = self._agreement(terms.agreement_id)
        except AgreementNotFoundError:
            agreement = Agreement(agreement_key=terms.agreement_id, title=terms.title, ctx=ctx)
        changes = agreement.revise(terms, ctx)
        if changes:
            self.save(agreement)
        return AgreementLoaded(
            agreement_key=terms.agreement_id,
            revision=agreement.revision,
            aggregate_version=agreement.version,
            changes=changes,
        )

    def agreement(self, agreement_key: str, version: int | None = None) -> Agreement:
        """The agreement now, or at an aggregate `version` (see `agreement_at_revision`).

        An agreement at a version is built once and then shared: read it, never change it."""
        return self._agreement(agreement_key, version)

    def agreement_at_revision(self, agreement_key: str, revision: int) -> Agreement:
        """The agreement as it was after its `revision`-th load that changed anything."""
        latest = self._agreement(agreement_key)
        revised = Agreement.Revised  # type: ignore[attr-defined]  # made by @event at runtime
        with naming(f"agreement '{agreement_key}'"):
            revision_ends = [
                event.originator_version
                for event in in_order(self.events.get(latest.id))
                if isinstance(event, revised)
            ]
        if not 1 <= revision <= len(revision_ends):
            raise AgreementNotFoundError(
                f"agreement '{agreement_key}' has no version {revision} "
                f"(versions: 1 to {latest.revision})"
            )
        return self._agreement(agreement_key, revision_ends[revision - 1])

    def _agreement(self, agreement_key: str, version: int | None = None) -> Agreement:
        if version is not None:
            kept = self._agreement_versions.get((agreement_key, version))
            if kept is not None:
                return kept
        try:
            with naming(f"agreement '{agreement_key}'"):
                found: object = self.repository.get(
                    ids.agreement_id(agreement_key),
                    version=version,
                    projector_func=_project_agreement,
                )
        except AggregateNotFoundError:
            raise AgreementNotFoundError(
                f"agreement '{agreement_key}' has not been loaded (run `lotse agreement load`)"
            ) from None
        if not isinstance(found, Agreement):
            raise TypeError(f"aggregate for agreement '{agreement_key}' is a {type(found)}")
        # Asked for a version not recorded yet, the store answers with the latest; only a
        # version that exists is final and may be kept.
        if version is not None and found.version == version:
            with self._tables_lock:  # activities run in threads
                self._agreement_versions[(agreement_key, version)] = found
                while len(self._agreement_versions) > AGREEMENT_VERSIONS_KEPT:
                    self._agreement_versions.popitem(last=False)
        return found

    # --- incident -------------------------------------------------------------------------

    def declare_incident(
        self,
        incident_key: str,
        declaration: IncidentDeclaration,
        agreement_key: str,
        ctx: CommandContext,
    ) -> Incident:
        """Record a declaration under the agreement in force now; a repeat returns the first."""
        try:
            existing = self.incident(incident_key)
        except IncidentNotFoundError:
            pass
        else:
            if existing.has_applied(ctx):
                return existing
            raise IncidentAlreadyDeclaredError(
                f"incident '{incident_key}' was already declared; choose another incident id"
            )
        agreement = self._agreement(agreement_key)
        agreement.partner(declaration.declared_by.partner_id)  # only a partner may declare
        incident = Incident(
            incident_key=incident_key,
            title=declaration.title,
            kind=declaration.kind,
            occurred_at=declaration.occurred_at,
            location=declaration.location,
            region=declaration.region,
            estimated_affected=declaration.estimated_affected,
            agreement_key=agreement_key,
            agreement_version=agreement.version,
            agreement_revision=agreement.revision,
            partner_ids=list(agreement.partners),
            ctx=ctx,
            exercise=declaration.exercise,
        )
        self.save(incident)
        return incident

    def incident(self, incident_key: str, version: int | None = None) -> Incident:
        """The incident now (a copy of the kept one, fast-forwarded), or at `version` (rebuilt
        from its events, past the kept one)."""
        if version is not None:
            return self._incident(incident_key, version)
        # The library fast-forwards the kept incident under its own lock but copies it after
        # releasing that lock; ours keeps another thread's fast-forward out of the copy.
        with self._incident_lock(incident_key):
            return self._incident(incident_key, None)

    def _incident_lock(self, incident_key: str) -> threading.Lock:
        with self._tables_lock:
            return self._incident_locks.setdefault(incident_key, threading.Lock())

    def _incident(self, incident_key: str, version: int | None) -> Incident:
        try:
            with naming(f"incident '{incident_key}'"):
                found: object = self.repository.get(
                    ids.incident_id(incident_key),
                    version=version,
                    projector_func=_project_incident,
                )
        except AggregateNotFoundError:
            raise IncidentNotFoundError(f"no incident '{incident_key}' is recorded") from None
        if not isinstance(found, Incident):
            raise TypeError(f"aggregate for incident '{incident_key}' is a {type(found)}")
        return found

    def agreement_of(self, incident: Incident) -> Agreement:
        """The agreement exactly as it was when the incident was declared."""
        return self._agreement(incident.agreement_key, incident.agreement_version)

    def record_notification(
        self, incident_key: str, outcome: NotificationOutcome, ctx: CommandContext
    ) -> Incident:
        return self._command(
            incident_key, ctx, lambda incident: incident.record_notification(outcome, ctx)
        )

    def acknowledge_alert(
        self,
        incident_key: str,
        partner_id: str,
        late: bool,
        seconds: float,
        ctx: CommandContext,
        received_at: datetime | None = None,
    ) -> Incident:
        return self._command(
            incident_key,
            ctx,
            lambda incident: incident.acknowledge_alert(
                partner_id, late, seconds, ctx, received_at=received_at
            ),
        )

    def escalate_alert(
        self, incident_key: str, partner_id: str, to_step: EscalationStep, ctx: CommandContext
    ) -> Incident:
        return self._command(
            incident_key, ctx, lambda incident: incident.escalate_alert(partner_id, to_step, ctx)
        )

    def mark_unreachable(self, incident_key: str, partner_id: str, ctx: CommandContext) -> Incident:
        return self._command(
            incident_key, ctx, lambda incident: incident.mark_unreachable(partner_id, ctx)
        )

    def report_needs(
        self, incident_key: str, needs: list[NeedReport], ctx: CommandContext
    ) -> Incident:
        return self._command(incident_key, ctx, lambda incident: incident.report_needs(needs, ctx))

    def assign_need_category(
        self, incident_key: str, category: NeedCategory, partner_id: str, ctx: CommandContext
    ) -> Incident:
        def assign(incident: Incident) -> None:
            partner = self.agreement_of(incident).partner(partner_id)
            incident.assign_need_category(category, partner, ctx)

        return self._command(incident_key, ctx, assign)

    def close_acute_phase(
        self,
        incident_key: str,
        note: str | None,
        reflection_due_at: datetime,
        ctx: CommandContext,
    ) -> Incident:
        return self._command(
            incident_key,
            ctx,
            lambda incident: incident.close_acute_phase(note, reflection_due_at, ctx),
        )

    def mark_reflection_due(self, incident_key: str, ctx: CommandContext) -> Incident:
        return self._command(incident_key, ctx, lambda incident: incident.mark_reflection_due(ctx))

    def record_reflection(
        self, incident_key: str, findings: list[str], measures: list[str], ctx: CommandContext
    ) -> Incident:
        return self._command(
            incident_key,
            ctx,
            lambda incident: incident.record_reflection(findings, measures, ctx),
        )

    def call_off(self, incident_key: str, reason: str, ctx: CommandContext) -> Incident:
        return self._command(incident_key, ctx, lambda incident: incident.call_off(reason, ctx))

    def record_refusal(self, refusal: RecordRefusalInput) -> Incident:
        """Record an action refused on its substance (`ActionRefused`); once per command id."""
        return self._command(
            refusal.incident_id,
            refusal.ctx,
            lambda incident: incident.record_refusal(
                refusal.action,
                str(refusal.kind),
                refusal.reason,
                refusal.person_ref,
                refusal.ctx,
            ),
        )

    def _command(
        self, incident_key: str, ctx: CommandContext, command: Callable[[Incident], None]
    ) -> Incident:
        """`_run_command` on the kept incident."""
        return self._run_command(
            self._incident_lock(incident_key),
            lambda: self._kept_incident(incident_key),
            ctx,
            command,
        )

    def _run_command(
        self,
        lock: threading.Lock,
        kept: Callable[[], A],
        ctx: CommandContext,
        command: Callable[[A], None],
    ) -> A:
        """Get → command → save; on a concurrent write to the same aggregate, start over.

        Alerts to several partners are recorded in parallel, so conflicts are ordinary. Within
        this process, commands on one incident take turns; across processes the store's
        optimistic concurrency decides. The command works on the kept incident itself; one
        that is not saved (a lost race, a store error) makes it forgotten, so the retry reads
        the incident again from the store, with what the other writer recorded, and a command
        that meanwhile landed changes nothing. The incident returned is the kept one: read it
        at once, never change it."""
        for attempt in range(1, CONFLICT_RETRIES + 1):
            with lock:
                aggregate = kept()
                if aggregate.has_applied(ctx):
                    return aggregate
                recorded_version = aggregate.version
                try:
                    command(aggregate)
                    self.save(aggregate)
                except IntegrityError:
                    self._forget_if_changed(aggregate, recorded_version)
                    if attempt == CONFLICT_RETRIES:
                        raise
                except BaseException:
                    self._forget_if_changed(aggregate, recorded_version)
                    raise
                else:
                    return aggregate
            backoff = min(CONFLICT_BACKOFF_SECONDS * attempt, CONFLICT_BACKOFF_MAX_SECONDS)
            time.sleep(random.uniform(0, backoff))  # jitter, not secrecy
        raise AssertionError("unreachable")  # the loop returns or raises

    def _kept_incident(self, incident_key: str) -> Incident:
        """The kept incident itself, fast-forwarded, not a copy: a command on a long incident
        would otherwise copy every command id it remembers (that copy was four fifths of a
        command's time at 2,000 events and grew with the stream). Only `_command` uses it,
        under the incident's lock; `_forget_if_changed` undoes a command that was not saved."""
        try:
            with naming(f"incident '{incident_key}'"):
                found: object = self.repository.get(
                    ids.incident_id(incident_key),
                    projector_func=_project_incident,
                    deepcopy_from_cache=False,
                )
        except AggregateNotFoundError:
            raise IncidentNotFoundError(f"no incident '{incident_key}' is recorded") from None
        if not isinstance(found, Incident):
            raise TypeError(f"aggregate for incident '{incident_key}' is a {type(found)}")
        return found

    def _forget_if_changed(self, incident: Commandable, recorded_version: int) -> None:
        """Drops the kept incident if a command applied an event that was not saved (a lost
        race, a refusal after an event, a store error), so that the next read rebuilds it from
        the store. State changes only inside event methods, each of which raises the version,
        so an unchanged version means an unchanged incident (a refusal before any event)."""
        cache = self.repository.cache
        if incident.version != recorded_version and cache is not None:
            # KeyError: evicted meanwhile by the cache's own size limit.
            with contextlib.suppress(KeyError):
                cache.get(incident.id, evict=True)

    # --- queries for audit and the CLI ----------------------------------------------------

    def history(self, incident_key: str) -> list[HistoryEntry]:
        """Every domain event of the incident, in order, with its envelope (one read).
        `DamagedRecordError` if one cannot be read or a version is missing."""
        with naming(f"incident '{incident_key}'"):
            events = in_order(self.events.get(ids.incident_id(incident_key)))
            entries = [history_entry(event) for event in events]
        if not entries:
            raise IncidentNotFoundError(f"no incident '{incident_key}' is recorded")
        return entries

    def incident_keys(self) -> list[str]:
        """The ids of every declared incident whose declaration can be read, oldest first."""
        return [key for key in self._declared() if isinstance(key, str)]

    def listed_incidents(self) -> list[Incident | DamagedIncident]:
        """Every declared incident, oldest first; one whose record cannot be read is listed
        as a `DamagedIncident` in its place, so that it stops no other from being listed."""
        listed: list[Incident | DamagedIncident] = []
        for key in self._declared():
            if isinstance(key, DamagedRecordError):
                listed.append(DamagedIncident(None, key.naming("an incident")))
                continue
            try:
                listed.append(self.incident(key))
            except DamagedRecordError as damage:
                listed.append(DamagedIncident(key, damage))
        return listed

    def _declared(self) -> Iterator[str | DamagedRecordError]:
        """The id of each declared incident from the log, or the damage that hides it."""
        topic = get_topic(Incident.Declared)  # type: ignore[attr-defined]  # made by @event at runtime
        for notification in self._notifications(topics=[topic]):
            try:
                key = self.mapper.to_domain_event(notification).__dict__["incident_key"]
            except DamagedRecordError as damage:
                yield damage
            except KeyError:
                yield DamagedRecordError(
                    notification.originator_id,
                    notification.originator_version,
                    "its declaration names no incident id",
                )
            else:
                yield str(key)

    def _notifications(self, topics: list[str]) -> Iterator[Any]:
        start = 1
        while True:
            batch = self.recorder.select_notifications(start, 500, topics=topics)
            yield from batch
            if len(batch) < 500:
                return
            start = batch[-1].id + 1


def _project_incident(aggregate: Incident | None, events: Iterable[Any]) -> Incident | None:
    return apply_events(aggregate, events)


def _project_agreement(aggregate: Agreement | None, events: Iterable[Any]) -> Agreement | None:
    return apply_events(aggregate, events)
