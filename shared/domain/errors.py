"""What the domain says when a rule says no. No transport in sight: no status codes, no
wire names. The edge turns each kind into its Evidently error in one table
(``shared/edge/errors.py``)."""

from __future__ import annotations


class DomainError(Exception):
    def __init__(
        self,
        message: str,
        resource_id: str | None = None,
        resource_type: str | None = None,
        *,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.resource_id = resource_id
        self.resource_type = resource_type
        self.field = field


class Invalid(DomainError):
    """A request breaks a rule of the resource it names (``field`` says which part)."""


class NotFound(DomainError):
    """The named resource does not exist (or no longer does)."""


class Conflict(DomainError):
    """The resource's state forbids this now: it exists, it is running, it is in use."""


class QuotaExceeded(DomainError):
    """One more would pass a service quota (``resource_type`` says which)."""
