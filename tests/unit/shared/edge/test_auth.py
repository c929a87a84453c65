"""SigV4 verification against requests signed by botocore itself, as boto3 signs them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from shared.credentials import MasterKey, SealingError, new_key_id, new_secret
from shared.domain.access import AccessKey, Scope, operation_class
from shared.edge.auth import Authenticator, Principal, SignedRequest, authorize
from shared.edge.routing import keep_dot_labels
from shared.errors import (
    AccessDeniedException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)

REGION = "us-east-1"
NOW = datetime(2026, 12, 2, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def master(tmp_path: Path) -> MasterKey:
    return MasterKey.load(tmp_path, {})


def make_key(
    master: MasterKey, scope: Scope = Scope.ADMIN, projects: tuple[str, ...] = ()
) -> tuple[AccessKey, str]:
    key_id, secret = new_key_id(), new_secret()
    return AccessKey(key_id, master.seal(key_id, secret), scope, projects, None, NOW), secret


def signed(
    key_id: str,
    secret: str,
    method: str,
    url: str,
    body: bytes = b"",
    *,
    at: datetime = NOW,
    region: str = REGION,
) -> SignedRequest:
    """A request signed by botocore's signer at ``at``, then taken apart as ASGI gives it."""
    request = AWSRequest(
        method=method, url=url, data=body, headers={"Content-Type": "application/json"}
    )
    request.context["timestamp"] = at.strftime("%Y%m%dT%H%M%SZ")
    signer = SigV4Auth(Credentials(key_id, secret), "evidently", region)
    # add_auth stamps "now"; sign at ``at`` the way add_auth does, through its own steps
    # (which set X-Amz-Date from the context's timestamp).
    signer._modify_request_before_signing(request)
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    headers_to_sign = signer.headers_to_sign(request)
    request.headers["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={key_id}/{request.context['timestamp'][:8]}/{region}"
        f"/evidently/aws4_request, SignedHeaders={signer.signed_headers(headers_to_sign)},"
        f" Signature={signature}"
    )
    parts = urlsplit(url)
    headers = [(k.lower().encode(), v.encode()) for k, v in request.headers.items()]
    if not any(k == b"host" for k, _ in headers):
        headers.append((b"host", parts.netloc.encode()))
    return SignedRequest(method, parts.path, parts.query, headers, body)


def authenticator(master: MasterKey, *keys: AccessKey, now: datetime = NOW) -> Authenticator:
    table = {k.key_id: k for k in keys}
    return Authenticator(
        table.get, master, REGION, clock=lambda: now, reencode_path=keep_dot_labels
    )


def test_a_request_signed_by_botocore_is_accepted(master: MasterKey) -> None:
    key, secret = make_key(master)
    request = signed(key.key_id, secret, "POST", "http://127.0.0.1:8080/projects", b'{"name": "p"}')
    assert authenticator(master, key).authenticate(request).key_id == key.key_id


def test_the_dataplane_host_prefix_and_encoded_labels_are_what_was_signed(
    master: MasterKey,
) -> None:
    """boto3 prefixes the data plane's host with "dataplane." unless told not to; labels
    travel percent-encoded (an ARN's "/" as %2F) and SigV4 encodes the path once more."""
    key, secret = make_key(master)
    url = "http://dataplane.verdict.example:8080/projects/p/evaluations/f%2Fx?max=3&a=b%20c"
    request = signed(key.key_id, secret, "POST", url, b"{}")
    assert authenticator(master, key).authenticate(request).key_id == key.key_id


def test_paths_that_sigv4_would_normalize_are_refused(master: MasterKey) -> None:
    """SigV4 signs the path without its dot and empty segments, so a signature for
    DELETE /projects/p would also cover DELETE /projects/p/features/.. (DeleteFeature of
    a feature named ".."): such paths are refused, raw or re-encoded by the front door."""
    key, secret = make_key(master)
    auth = authenticator(master, key)
    project = signed(key.key_id, secret, "DELETE", "http://h/projects/p")
    for path in ("/projects/p/features/..", "//projects//p", "/projects/./p"):
        moved = SignedRequest("DELETE", path, "", project.headers, b"")
        with pytest.raises(InvalidSignatureException, match="segments"):
            auth.authenticate(moved)
    forwarded = SignedRequest(
        "DELETE",
        keep_dot_labels("/projects/p/features/.."),
        "",
        [*project.headers, (b"x-verdict-signed-path", b"/projects/p/features/..")],
        b"",
    )
    with pytest.raises(InvalidSignatureException):
        auth.authenticate(forwarded)
    assert auth.authenticate(signed(key.key_id, secret, "GET", "http://h/projects/p/"))


def test_a_signed_body_hash_must_be_the_bodys(master: MasterKey) -> None:
    """botocore takes the payload hash from x-amz-content-sha256 when a client signs it
    (the JavaScript SDK always does): a replay with another body must not verify."""
    import hashlib

    key, secret = make_key(master)
    original = b'{"description": "a"}'
    request = AWSRequest(
        method="PATCH",
        url="http://h/projects/p",
        data=original,
        headers={"X-Amz-Content-SHA256": hashlib.sha256(original).hexdigest()},
    )
    SigV4Auth(Credentials(key.key_id, secret), "evidently", REGION).add_auth(request)
    headers = [(k.lower().encode(), v.encode()) for k, v in request.headers.items()]
    headers.append((b"host", b"h"))
    auth = Authenticator({key.key_id: key}.get, master, REGION)
    assert auth.authenticate(SignedRequest("PATCH", "/projects/p", "", headers, original))
    with pytest.raises(InvalidSignatureException, match="SHA-256 of the body"):
        auth.authenticate(SignedRequest("PATCH", "/projects/p", "", headers, b'{"x": 1}'))
    unsigned = [(k, b"UNSIGNED-PAYLOAD" if k == b"x-amz-content-sha256" else v) for k, v in headers]
    with pytest.raises(InvalidSignatureException):
        auth.authenticate(SignedRequest("PATCH", "/projects/p", "", unsigned, b"{}"))


@pytest.mark.parametrize(
    "change",
    ["body", "path", "method", "query", "secret"],
)
def test_anything_changed_after_signing_is_refused(master: MasterKey, change: str) -> None:
    key, secret = make_key(master)
    url = "http://h/projects/p/features?maxResults=5"
    request = signed(key.key_id, secret if change != "secret" else new_secret(), "POST", url, b"{}")
    if change == "body":
        request = SignedRequest(
            request.method, request.raw_path, request.query_string, request.headers, b"{ }"
        )
    elif change == "path":
        request = SignedRequest(
            request.method,
            "/projects/q/features",
            request.query_string,
            request.headers,
            request.body,
        )
    elif change == "method":
        request = SignedRequest(
            "PUT", request.raw_path, request.query_string, request.headers, request.body
        )
    elif change == "query":
        request = SignedRequest(
            request.method, request.raw_path, "maxResults=50", request.headers, request.body
        )
    with pytest.raises(InvalidSignatureException, match="does not match"):
        authenticator(master, key).authenticate(request)


def test_each_failure_has_its_aws_code(master: MasterKey) -> None:
    key, secret = make_key(master)
    auth = authenticator(master, key)
    with pytest.raises(MissingAuthenticationTokenException):
        auth.authenticate(SignedRequest("GET", "/projects", "", [(b"host", b"h")], b""))
    with pytest.raises(InvalidSignatureException):
        auth.authenticate(
            SignedRequest("GET", "/projects", "", [(b"authorization", b"AWS4 nonsense")], b"")
        )
    other, other_secret = make_key(master)
    with pytest.raises(UnrecognizedClientException):
        auth.authenticate(signed(other.key_id, other_secret, "GET", "http://h/projects"))
    revoked = AccessKey(key.key_id, key.sealed_secret, key.scope, (), None, NOW, revoked_at=NOW)
    with pytest.raises(UnrecognizedClientException):
        authenticator(master, revoked).authenticate(
            signed(key.key_id, secret, "GET", "http://h/projects")
        )
    with pytest.raises(InvalidSignatureException, match="region"):
        auth.authenticate(
            signed(key.key_id, secret, "GET", "http://h/projects", region="eu-west-1")
        )


def test_fifteen_minutes_of_skew_and_no_more(master: MasterKey) -> None:
    key, secret = make_key(master)
    request = signed(key.key_id, secret, "GET", "http://h/projects")
    assert authenticator(master, key, now=NOW + timedelta(minutes=14)).authenticate(request)
    with pytest.raises(InvalidSignatureException, match="Signature expired"):
        authenticator(master, key, now=NOW + timedelta(minutes=16)).authenticate(request)
    with pytest.raises(InvalidSignatureException, match="not yet current"):
        authenticator(master, key, now=NOW - timedelta(minutes=16)).authenticate(request)


def test_a_bearer_form_of_a_key(master: MasterKey) -> None:
    key, secret = make_key(master)
    auth = authenticator(master, key)
    bearer = [(b"authorization", f"Bearer {key.key_id}:{secret}".encode())]
    principal = auth.authenticate(SignedRequest("GET", "/metrics", "", bearer, b""))
    authorize(principal, "Metrics", None)
    with pytest.raises(AccessDeniedException, match="bearer"):
        authorize(principal, "DeleteProject", "p")
    wrong = [(b"authorization", f"Bearer {key.key_id}:{new_secret()}".encode())]
    with pytest.raises(UnrecognizedClientException):
        auth.authenticate(SignedRequest("GET", "/metrics", "", wrong, b""))


def test_scopes_and_projects(master: MasterKey) -> None:
    admin, _ = make_key(master, Scope.ADMIN)
    reader, _ = make_key(master, Scope.READ)
    data_p, _ = make_key(master, Scope.DATA, ("p",))

    for operation in ("CreateProject", "DeleteFeature", "EvaluateFeature", "ListProjects"):
        authorize(Principal(admin), operation, "p")
    authorize(Principal(reader), "GetExperimentResults", "p")
    authorize(Principal(reader), "ListProjects", None)
    with pytest.raises(AccessDeniedException):
        authorize(Principal(reader), "UpdateFeature", "p")
    authorize(Principal(data_p), "EvaluateFeature", "p")
    authorize(Principal(data_p), "PutProjectEvents", "p")
    with pytest.raises(AccessDeniedException, match="project q"):
        authorize(Principal(data_p), "EvaluateFeature", "q")
    with pytest.raises(AccessDeniedException):
        authorize(Principal(data_p), "GetFeature", "p")
    assert operation_class("Metrics").value == "read"


def test_a_key_limited_to_projects_lists_a_lab_and_sees_only_its_projects(
    master: MasterKey,
) -> None:
    reader_p, _ = make_key(master, Scope.READ, ("p",))
    data, _ = make_key(master, Scope.DATA)
    # A lab spans projects: such a key is filtered (the handler asks ``reaches``), not refused.
    authorize(Principal(reader_p), "ListLabExperiments", None)
    assert reader_p.reaches("p")
    assert not reader_p.reaches("q") and not reader_p.reaches(None)
    with pytest.raises(AccessDeniedException):
        authorize(Principal(reader_p), "ListProjects", None)
    with pytest.raises(AccessDeniedException):
        authorize(Principal(data), "ListLabExperiments", None)


def test_a_sealed_secret_opens_only_with_its_master_key_and_its_key_id(tmp_path: Path) -> None:
    first = MasterKey.load(tmp_path / "a", {})
    second = MasterKey.load(tmp_path / "b", {})
    sealed = first.seal("VKIAAAAAAAAAAAAAAAAA", "s3cret")
    assert first.unseal("VKIAAAAAAAAAAAAAAAAA", sealed) == "s3cret"
    assert "s3cret" not in sealed
    with pytest.raises(SealingError):
        second.unseal("VKIAAAAAAAAAAAAAAAAA", sealed)
    with pytest.raises(SealingError):
        first.unseal("VKIABBBBBBBBBBBBBBBB", sealed)
    assert (tmp_path / "a" / "master.key").stat().st_mode & 0o777 == 0o600
    assert MasterKey.load(tmp_path / "a", {}).unseal("VKIAAAAAAAAAAAAAAAAA", sealed) == "s3cret"
