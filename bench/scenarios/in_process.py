"""Scenario 1a: evaluation in process against GrowthBook's SDK, and the JSON codecs."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from bench.common import (
    REPEATS,
    USERS,
)

# -- scenario 1a: evaluation in process, against GrowthBook's SDK -----------------


def evaluation_in_process() -> dict[str, Any]:
    from growthbook import GrowthBook

    from shared.domain.evaluation import compile_rules, evaluate
    from shared.domain.events import ExperimentConfig, MetricDefinition, MetricGoal, Treatment
    from shared.domain.experiment import Experiment
    from shared.domain.feature import Feature
    from shared.domain.values import ValueType, VariableValue, Variation

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    feature = Feature(
        "p",
        "f",
        None,
        (
            Variation("control", VariableValue(ValueType.STRING, "control")),
            Variation("treatment", VariableValue(ValueType.STRING, "treatment")),
        ),
        "control",
        "ALL_RULES",
        {},
        {},
        t0,
        t0,
    )
    config = ExperimentConfig(
        None,
        (
            Treatment("control", None, "f", "control"),
            Treatment("treatment", None, "f", "treatment"),
        ),
        (MetricGoal(MetricDefinition("m", "u", "v")),),
        "control",
        {"control": 50_000, "treatment": 50_000},
        "e",
        100_000,
        None,
    )
    experiment = Experiment(
        "p",
        "e",
        config,
        {},
        "RUNNING",
        t0,
        t0,
        started_at=t0,
        analysis_complete_time=t0 + timedelta(days=3650),
    )
    rules = compile_rules(feature, None, experiment, {})
    users = [f"user-{i}" for i in range(USERS)]
    now = time.time()
    context: dict[str, Any] = {}

    def verdict_run() -> float:
        started = time.perf_counter()
        for u in users:
            evaluate(rules, u, context, now, None)
        return USERS / (time.perf_counter() - started)

    gb = GrowthBook(
        features={
            "f": {
                "defaultValue": "control",
                "rules": [
                    {
                        "key": "e",
                        "variations": ["control", "treatment"],
                        "weights": [0.5, 0.5],
                        "coverage": 1.0,
                        "hashAttribute": "id",
                    }
                ],
            }
        }
    )

    def growthbook_run() -> float:
        started = time.perf_counter()
        for u in users:
            gb.set_attributes({"id": u})
            gb.eval_feature("f")
        return USERS / (time.perf_counter() - started)

    verdict = statistics.median(verdict_run() for _ in range(REPEATS))
    growthbook = statistics.median(growthbook_run() for _ in range(REPEATS))
    return {
        "verdict_evals_per_s": verdict,
        "growthbook_evals_per_s": growthbook,
        "ratio": verdict / growthbook,
        "users": USERS,
        "repeats": REPEATS,
    }


def json_codecs() -> dict[str, Any]:
    import msgspec

    response = {
        "variation": "treatment",
        "value": {"stringValue": "treatment"},
        "reason": "EXPERIMENT_RULE_MATCH",
        "details": '{"experiment":"e","treatment":"treatment"}',
    }
    request = b'{"entityId":"user-123456","evaluationContext":"{\\"plan\\":\\"pro\\"}"}'
    encoder, decoder = msgspec.json.Encoder(), msgspec.json.Decoder()
    n = 200_000

    def rate(fn: Any) -> float:
        started = time.perf_counter()
        for _ in range(n):
            fn()
        return n / (time.perf_counter() - started)

    out = {
        "orjson_encode_per_s": statistics.median(
            rate(lambda: orjson.dumps(response)) for _ in range(3)
        ),
        "msgspec_encode_per_s": statistics.median(
            rate(lambda: encoder.encode(response)) for _ in range(3)
        ),
        "orjson_decode_per_s": statistics.median(
            rate(lambda: orjson.loads(request)) for _ in range(3)
        ),
        "msgspec_decode_per_s": statistics.median(
            rate(lambda: decoder.decode(request)) for _ in range(3)
        ),
    }
    return out


# -- scenario 1c: the cost of checking a signature -------------------------------------


def signature_check() -> dict[str, Any]:
    """SigV4 verification of a signed BatchEvaluateFeature (20 items), per request.

    Against the floor of any verifier: deriving the signing key and one HMAC of a
    ready-made string to sign, with no canonical request built. The issue's rule is to
    use botocore's signer rather than hand-roll the canonical request; this is what that
    choice costs per request.
    """
    import hashlib
    import hmac
    import tempfile
    from pathlib import Path

    from botocore.auth import SigV4Auth  # type: ignore[import-untyped]
    from botocore.awsrequest import AWSRequest  # type: ignore[import-untyped]
    from botocore.credentials import Credentials  # type: ignore[import-untyped]

    from shared.credentials import MasterKey, new_key_id, new_secret
    from shared.domain.access import AccessKey, Scope
    from shared.edge.auth import Authenticator, SignedRequest

    key_id, secret = new_key_id(), new_secret()
    master = MasterKey.load(Path(tempfile.mkdtemp()), {})
    key = AccessKey(key_id, master.seal(key_id, secret), Scope.DATA, (), None, datetime.now(UTC))
    body = orjson.dumps(
        {"requests": [{"feature": "f", "entityId": f"user-{i}"} for i in range(20)]}
    )
    url = "http://127.0.0.1:8082/projects/p/evaluations"
    request = AWSRequest(
        method="POST", url=url, data=body, headers={"Content-Type": "application/json"}
    )
    SigV4Auth(Credentials(key_id, secret), "evidently", "us-east-1").add_auth(request)
    headers = [(k.lower().encode(), v.encode()) for k, v in request.headers.items()]
    headers.append((b"host", b"127.0.0.1:8082"))
    signed = SignedRequest("POST", "/projects/p/evaluations", "", headers, body)
    auth = Authenticator({key_id: key}.get, master, "us-east-1")
    stamp = request.context["timestamp"]

    def floor() -> str:
        k = hmac.new(f"AWS4{secret}".encode(), stamp[:8].encode(), hashlib.sha256).digest()
        for part in ("us-east-1", "evidently", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        return hmac.new(k, hashlib.sha256(body).hexdigest().encode(), hashlib.sha256).hexdigest()

    n = 20_000

    def rate(fn: Any) -> float:
        started = time.perf_counter()
        for _ in range(n):
            fn()
        return n / (time.perf_counter() - started)

    return {
        "verify_per_s": statistics.median(
            rate(lambda: auth.authenticate(signed)) for _ in range(REPEATS)
        ),
        "floor_per_s": statistics.median(rate(floor) for _ in range(REPEATS)),
    }
