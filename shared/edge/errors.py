"""The one function that turns an error into AWS's response shape, and the one table
that names each domain error in Evidently's vocabulary.

botocore's rest-json parser reads the error code from the ``x-amzn-ErrorType``
header and the message from the body's ``message``, and raises
``client.exceptions.<Code>``. Anything that is not a VerdictError is an
InternalServerException; its details go to the log, never to the client.
"""

from __future__ import annotations

import logging
import math

from shared import serialization
from shared.domain.errors import Conflict, DomainError, Invalid, NotFound, QuotaExceeded
from shared.errors import (
    ConflictException,
    InternalServerException,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
    ThrottlingException,
    ValidationException,
    VerdictError,
)

log = logging.getLogger(__name__)

Headers = list[tuple[bytes, bytes]]

# What a client sees of an unexpected error; the details go to the service log.
INTERNAL = InternalServerException("internal error; see the service log")


def wire_error(exc: DomainError | VerdictError) -> VerdictError:
    """The Evidently error a domain error is on the wire."""
    if isinstance(exc, VerdictError):
        return exc
    if isinstance(exc, Invalid):
        return ValidationException(exc.message, field=exc.field)
    if isinstance(exc, NotFound):
        return ResourceNotFoundException(exc.message, exc.resource_id, exc.resource_type)
    if isinstance(exc, Conflict):
        return ConflictException(exc.message, exc.resource_id, exc.resource_type)
    if isinstance(exc, QuotaExceeded):
        return ServiceQuotaExceededException(exc.message, resource_type=exc.resource_type)
    return InternalServerException(exc.message)


def render_error(exc: BaseException, where: str = "") -> tuple[int, Headers, bytes]:
    """(status, headers, body) of an error response."""
    if isinstance(exc, DomainError):
        exc = wire_error(exc)
    if not isinstance(exc, VerdictError):
        log.error("unhandled error on %s", where, exc_info=exc)
        exc = INTERNAL
    headers = [
        (b"content-type", b"application/json"),
        (b"x-amzn-errortype", exc.code.encode()),
    ]
    if isinstance(exc, ThrottlingException) and exc.retry_after is not None:
        headers.append((b"retry-after", str(max(1, math.ceil(exc.retry_after))).encode()))
    return exc.status, headers, serialization.dumps(exc.body())
