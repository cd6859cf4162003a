"""Domain errors: each says what was refused and why, in words an operator understands."""

from __future__ import annotations


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


class DirectoryNotFoundError(NotFoundError):
    pass


class DirectoryConflictError(DomainError):
    """A directory that disagrees with the agreement in force (a partner's remit, say)."""


class OfferFullError(DomainError):
    """A place asked of an offer that has none left."""
