"""The one function that turns an error into AWS's response shape.

botocore's rest-json parser reads the error code from the ``x-amzn-ErrorType``
header and the message from the body's ``message``, and raises
``client.exceptions.<Code>``. Anything that is not a VerdictError is an
InternalServerException; its details go to the log, never to the client.
"""

from __future__ import annotations

import logging

from shared import serialization
from shared.errors import InternalServerException, VerdictError

log = logging.getLogger(__name__)

Headers = list[tuple[bytes, bytes]]

# What a client sees of an unexpected error; the details go to the service log.
INTERNAL = InternalServerException("internal error; see the service log")


def render_error(exc: BaseException, where: str = "") -> tuple[int, Headers, bytes]:
    """(status, headers, body) of an error response."""
    if not isinstance(exc, VerdictError):
        log.error("unhandled error on %s", where, exc_info=exc)
        exc = INTERNAL
    headers = [
        (b"content-type", b"application/json"),
        (b"x-amzn-errortype", exc.code.encode()),
    ]
    return exc.status, headers, serialization.dumps(exc.body())
