"""The only error vocabulary: one class per Evidently error shape.

Status codes come from the botocore ``evidently`` 2021-02-01 model's error
shapes (``httpStatusCode``); the class name is the ``x-amzn-ErrorType``.
"""

from __future__ import annotations

from typing import Any, ClassVar


class VerdictError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "InternalServerException"

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields = {k: v for k, v in fields.items() if v is not None}

    def body(self) -> dict[str, Any]:
        return {"message": self.message, **self.fields}


class ValidationException(VerdictError):
    status = 400
    code = "ValidationException"

    def __init__(
        self,
        message: str,
        field: str | None = None,
        reason: str = "fieldValidationFailed",
        field_list: list[dict[str, str]] | None = None,
    ):
        # The message always names the field: boto3 users see only the message.
        if field and field not in message:
            message = f"{field}: {message}"
        if field_list is None and field:
            field_list = [{"name": field, "message": message}]
        super().__init__(message, reason=reason, fieldList=field_list)


class AccessDeniedException(VerdictError):
    status = 403
    code = "AccessDeniedException"


class MissingAuthenticationTokenException(VerdictError):
    """No signature at all (not in the Evidently model; AWS's gateway answers it)."""

    status = 403
    code = "MissingAuthenticationTokenException"


class InvalidSignatureException(VerdictError):
    """A malformed or wrong signature, or one too far from the server's clock."""

    status = 403
    code = "InvalidSignatureException"


class UnrecognizedClientException(VerdictError):
    """A key this installation does not know, or one revoked."""

    status = 403
    code = "UnrecognizedClientException"


class ResourceNotFoundException(VerdictError):
    status = 404
    code = "ResourceNotFoundException"

    def __init__(
        self, message: str, resource_id: str | None = None, resource_type: str | None = None
    ):
        super().__init__(message, resourceId=resource_id, resourceType=resource_type)


class ConflictException(VerdictError):
    status = 409
    code = "ConflictException"

    def __init__(
        self, message: str, resource_id: str | None = None, resource_type: str | None = None
    ):
        super().__init__(message, resourceId=resource_id, resourceType=resource_type)


class ServiceQuotaExceededException(VerdictError):
    status = 402
    code = "ServiceQuotaExceededException"

    def __init__(
        self, message: str, resource_type: str | None = None, quota_code: str | None = None
    ):
        super().__init__(
            message, resourceType=resource_type, quotaCode=quota_code, serviceCode="evidently"
        )


class ThrottlingException(VerdictError):
    status = 429
    code = "ThrottlingException"

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InternalServerException(VerdictError):
    status = 500
    code = "InternalServerException"


class ServiceUnavailableException(VerdictError):
    status = 503
    code = "ServiceUnavailableException"


class UnknownOperationException(VerdictError):
    """No operation has this method and path: AWS answers 404 with this code."""

    status = 404
    code = "UnknownOperationException"


class MethodNotAllowedException(VerdictError):
    """The path names an operation, under another method."""

    status = 405
    code = "UnknownOperationException"
