"""Domain errors: each says what was refused and why, in words an operator understands."""

from __future__ import annotations

from contracts.vocabulary import DAMAGED_RECORD


class DomainError(Exception):
    """Base of every refusal by the domain."""


class NotFoundError(DomainError):
    """An incident or agreement that was never recorded."""


class IncidentNotFoundError(NotFoundError):
    pass


class AgreementNotFoundError(NotFoundError):
    pass


class IncidentAlreadyDeclaredError(DomainError):
    """A second declaration under an incident id that is already in use."""


class UnknownPartnerError(DomainError):
    """A partner id that is not a party to the agreement the incident runs under."""


class OutsideRemitError(DomainError):
    """Assigning a need category to a partner whose remit does not cover it.

    The agreement creates no new responsibilities.
    """


class PhaseNotAllowedError(DomainError):
    """An action that the incident's current phase does not allow."""


class PersonNotFoundError(NotFoundError):
    """A person reference that was never registered for the incident."""


class PersonAlreadyRegisteredError(DomainError):
    """A second registration of the same person reference by another command."""


class ConsentMissingError(DomainError):
    """A referral, or a step of one, that valid consent for its recipient does not cover."""

    failure_type = "ConsentMissing"
    """The `ApplicationError` type the workflow reports it as."""


class ConsentNotFoundError(DomainError):
    """Withdrawing consent for a recipient that has no valid consent to withdraw."""


class PersonErasedError(DomainError):
    """The person's personal data was erased: contact data is unreadable, commands refused."""


class CaseClosedError(DomainError):
    """A command on a case that is closed."""


class ReferralRefusedError(DomainError):
    """A referral step that does not fit: the wrong step for the referral's status, an
    unknown referral, a need that is not open or already has a live referral."""


class CaseStepRefusedError(DomainError):
    """A case command that does not fit the case: a follow-up recorded twice, a need that was
    not assessed, text that breaks the input rules. The message names the field."""


class DirectoryNotFoundError(NotFoundError):
    pass


class DirectoryConflictError(DomainError):
    """A directory that disagrees with the agreement in force (a partner's remit, say)."""


class OfferFullError(DomainError):
    """A place asked of an offer that has none left."""


class DuplicateNotFoundError(NotFoundError):
    """A likely duplicate asked for by a number the incident's roll does not have."""


class DamagedRecordError(DomainError):
    """A stream of the record that cannot be read as it was written: a version missing from
    the middle, a stored state that does not decode, an event type that does not exist, a
    state that does not fit its event. Names the stream (what it records and its originator
    id) and the first version that cannot be read. Reading it again fails the same way: it
    is final, and nothing about another stream depends on it."""

    failure_type = DAMAGED_RECORD
    """The `ApplicationError` type the workflows report it as."""

    def __init__(
        self, originator_id: object, version: int, problem: str, stream: str | None = None
    ) -> None:
        self.originator_id = originator_id
        self.version = version
        self.problem = problem
        self.stream = stream
        named = f"{stream} (stream {originator_id})" if stream else f"stream {originator_id}"
        super().__init__(
            f"the record of {named} is damaged at version {version}: {problem} — see "
            "`lotse audit verify`"
        )

    def naming(self, stream: str) -> DamagedRecordError:
        """The same damage, with the stream named as people know it (`incident 'x'`)."""
        return DamagedRecordError(self.originator_id, self.version, self.problem, stream)

    def __reduce__(self) -> tuple[object, ...]:
        # Rebuilt from its parts (a copy, a pickle), not from the message alone.
        return (type(self), (self.originator_id, self.version, self.problem, self.stream))


class DrillNotFoundError(NotFoundError):
    pass


class DrillRefusedError(DomainError):
    """A step a test alert does not allow: an unknown contact point, an answer after its end."""
