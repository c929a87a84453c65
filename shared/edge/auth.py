"""AWS Signature Version 4, checked once, at the edge, against Verdict's own access keys.

Every request a boto3 client sends is signed; this module recomputes the signature with
botocore's own signer (``SigV4Auth``: canonical request, string to sign, signing key) over
the request as it arrived, and compares in constant time. Hand-rolling the canonical
request is where SigV4 verifiers go wrong (path double-encoding, header trimming, query
sorting); botocore's is the reference the clients use.

What a request gets, in AWS's codes (boto3 raises a ClientError with the code):
- no ``Authorization`` header: 403 MissingAuthenticationTokenException;
- a malformed one, a wrong signature, or a date more than 15 minutes off (AWS's skew):
  403 InvalidSignatureException ("Signature expired" for the date);
- an unknown or revoked key: 403 UnrecognizedClientException;
- a key whose scope does not allow the operation or the project: 403
  AccessDeniedException (in the model, so boto3 raises its own class).

A key may also be presented as ``Authorization: Bearer <key id>:<secret>``, for clients
that cannot sign (Prometheus, OFREP); the secret is then compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.auth import SigV4Auth  # type: ignore[import-untyped]
from botocore.awsrequest import AWSRequest  # type: ignore[import-untyped]
from botocore.credentials import Credentials  # type: ignore[import-untyped]

from shared.credentials import MasterKey, SealingError
from shared.domain.access import AccessKey
from shared.errors import (
    AccessDeniedException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)

MAX_SKEW = timedelta(minutes=15)
SERVICE = "evidently"
# Set by the front door when it had to re-encode a dot segment of the path it forwards:
# the path the client signed. Honoured only if re-encoding it gives the actual path.
SIGNED_PATH_HEADER = b"x-verdict-signed-path"

_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+"
    r"Credential=(?P<key>[^/\s,]+)/(?P<date>\d{8})/(?P<region>[^/\s,]+)/(?P<service>[^/\s,]+)"
    r"/aws4_request,\s*SignedHeaders=(?P<headers>[a-z0-9\-;]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request is from: the key it was signed with, or presented as a bearer token."""

    key: AccessKey
    # A bearer token carries the secret itself, with no expiry and no binding to the
    # request: it is accepted for reading metrics only.
    bearer: bool = False

    @property
    def key_id(self) -> str:
        return self.key.key_id


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """A request as it arrived: what the signature covers."""

    method: str
    raw_path: str
    query_string: str
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: bytes) -> str | None:
        values = [v.decode("latin-1") for k, v in self.headers if k.lower() == name]
        return ",".join(values) if values else None


KeyLookup = Callable[[str], AccessKey | None]


class Authenticator:
    def __init__(
        self,
        keys: KeyLookup,
        master: MasterKey,
        region: str,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        reencode_path: Callable[[str], str] | None = None,
    ) -> None:
        self.keys = keys
        self.master = master
        self.region = region
        self.clock = clock
        self.reencode_path = reencode_path
        # Unsealing is an AES-GCM open per request; a key's secret never changes.
        self._secrets: dict[tuple[str, str], str] = {}
        # (secret, day, region) -> the day's signing key: four HMACs saved per request.
        self._signing_keys: dict[tuple[str, str, str], bytes] = {}

    def authenticate(self, request: SignedRequest) -> Principal:
        authorization = request.header(b"authorization")
        if not authorization:
            raise MissingAuthenticationTokenException("Missing Authentication Token")
        if authorization.startswith("Bearer "):
            return self._bearer(authorization[len("Bearer ") :].strip())
        match = _AUTHORIZATION.match(authorization.strip())
        if match is None:
            raise InvalidSignatureException(
                "Authorization header requires AWS4-HMAC-SHA256 with Credential, SignedHeaders"
                " and Signature"
            )
        key = self._key(match["key"])
        if match["service"] != SERVICE or match["region"] != self.region:
            raise InvalidSignatureException(
                f"Credential should be scoped to region {self.region!r} and service {SERVICE!r}"
            )
        stamp = request.header(b"x-amz-date")
        signed_at = _parse_stamp(stamp)
        if signed_at is None or stamp is None or stamp[:8] != match["date"]:
            raise InvalidSignatureException("X-Amz-Date is missing or does not match the scope")
        now = self.clock()
        if abs(now - signed_at) > MAX_SKEW:
            raise InvalidSignatureException(
                f"Signature expired: {stamp} is now earlier than"
                f" {(now - MAX_SKEW).strftime('%Y%m%dT%H%M%SZ')}"
                if signed_at < now
                else f"Signature not yet current: {stamp} is still later than"
                f" {(now + MAX_SKEW).strftime('%Y%m%dT%H%M%SZ')}"
            )
        signed_headers = match["headers"].split(";")
        if "host" not in signed_headers:
            raise InvalidSignatureException("the host header must be signed")
        body_hash = hashlib.sha256(request.body).hexdigest()
        claimed_hash = request.header(b"x-amz-content-sha256")
        # botocore's canonical request takes the body's hash from this header when it is
        # there: unless it is the body's own, the signature would not cover the body.
        if claimed_hash is not None and claimed_hash != body_hash:
            raise InvalidSignatureException(
                "x-amz-content-sha256 must be the SHA-256 of the body: unsigned or streamed"
                " payloads are not accepted"
            )
        expected = self._signature(request, key, stamp, signed_headers, body_hash)
        if not hmac.compare_digest(expected, match["signature"]):
            raise InvalidSignatureException(
                "The request signature we calculated does not match the signature you"
                " provided. Check your AWS Secret Access Key and signing method."
            )
        return Principal(key)

    def _bearer(self, token: str) -> Principal:
        key_id, _, secret = token.partition(":")
        key = self._key(key_id)
        if not hmac.compare_digest(self._secret(key).encode(), secret.encode()):
            raise UnrecognizedClientException(
                "The security token included in the request is invalid."
            )
        return Principal(key, bearer=True)

    def _key(self, key_id: str) -> AccessKey:
        key = self.keys(key_id)
        if key is None or not key.active:
            raise UnrecognizedClientException(
                "The security token included in the request is invalid."
            )
        return key

    def _secret(self, key: AccessKey) -> str:
        cached = self._secrets.get((key.key_id, key.sealed_secret))
        if cached is None:
            try:
                cached = self.master.unseal(key.key_id, key.sealed_secret)
            except SealingError:
                raise UnrecognizedClientException(
                    "The security token included in the request is invalid."
                ) from None
            self._secrets[(key.key_id, key.sealed_secret)] = cached
        return cached

    def _signature(
        self,
        request: SignedRequest,
        key: AccessKey,
        stamp: str,
        signed: Iterable[str],
        body_hash: str,
    ) -> str:
        path = request.raw_path
        claimed = request.header(SIGNED_PATH_HEADER)
        if claimed and self.reencode_path is not None and self.reencode_path(claimed) == path:
            path = claimed
        if _ambiguous(path):
            # SigV4 signs the path with dot and empty segments removed: a signature for
            # /projects/p would also cover /projects/p/features/.. or //projects//p.
            raise InvalidSignatureException(
                "a signed path may not hold empty, '.' or '..' segments"
            )
        url = f"http://{request.header(b'host') or ''}{path}"
        if request.query_string:
            url += "?" + request.query_string
        wanted = set(signed)
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in request.headers
            if k.decode("latin-1").lower() in wanted
        ]
        aws_request = AWSRequest(method=request.method, url=url)
        for name, value in headers:
            # A Message: assigning a name again adds a value, as a repeated header does.
            aws_request.headers[name] = value
        aws_request.context["timestamp"] = stamp
        signer = _Verifier(
            Credentials(key.key_id, self._secret(key)),
            SERVICE,
            self.region,
            body_hash,
            self._signing_keys,
        )
        canonical = signer.canonical_request(aws_request)
        return str(signer.signature(signer.string_to_sign(aws_request, canonical), aws_request))


class _Verifier(SigV4Auth):  # type: ignore[misc]
    """botocore's signer, given what the server already has: the body's hash (the body
    arrived as bytes; botocore would prepare a request to hash it) and the day's signing
    key, derived once a day per key rather than once per request. The canonical request
    and the string to sign stay botocore's own."""

    def __init__(
        self,
        credentials: Credentials,
        service: str,
        region: str,
        payload_hash: str,
        signing_keys: dict[tuple[str, str, str], bytes],
    ) -> None:
        super().__init__(credentials, service, region)
        self._payload_hash = payload_hash
        self._signing_keys = signing_keys

    def payload(self, request: AWSRequest) -> str:
        return self._payload_hash

    def signature(self, string_to_sign: str, request: AWSRequest) -> str:
        day = request.context["timestamp"][0:8]
        cache_key = (self.credentials.secret_key, day, self._region_name)
        signing = self._signing_keys.get(cache_key)
        if signing is None:
            k = self._sign(f"AWS4{self.credentials.secret_key}".encode(), day)
            for part in (self._region_name, self._service_name, "aws4_request"):
                k = self._sign(k, part)
            if len(self._signing_keys) > 10_000:
                self._signing_keys.clear()
            signing = self._signing_keys[cache_key] = k
        return str(self._sign(signing, string_to_sign, hex=True))


BEARER_OPERATIONS = frozenset({"Metrics"})


def authorize(principal: Principal, operation: str, project: str | None) -> None:
    if principal.bearer and operation not in BEARER_OPERATIONS:
        raise AccessDeniedException(
            f"a bearer token may only read metrics; sign {operation} with SigV4"
        )
    if not principal.key.permits(operation, project):
        where = f" on project {project}" if project else ""
        raise AccessDeniedException(
            f"access key {principal.key_id} ({principal.key.scope.value}) is not allowed to"
            f" call {operation}{where}"
        )


def _parse_stamp(stamp: str | None) -> datetime | None:
    """ISO 8601 basic, as SigV4 writes it (20261202T120000Z); strptime cost a tenth of a
    check."""
    if not stamp or len(stamp) != 16 or stamp[8] != "T" or stamp[15] != "Z":
        return None
    try:
        return datetime(
            int(stamp[0:4]),
            int(stamp[4:6]),
            int(stamp[6:8]),
            int(stamp[9:11]),
            int(stamp[11:13]),
            int(stamp[13:15]),
            tzinfo=UTC,
        )
    except ValueError:
        return None


def _ambiguous(path: str) -> bool:
    """Whether SigV4's path normalization would map ``path`` and another path to one
    canonical form: an empty, "." or ".." segment anywhere but a trailing slash."""
    segments = path.split("/")[1:]
    if segments and segments[-1] == "":
        segments = segments[:-1]
    return any(segment in ("", ".", "..") for segment in segments)
