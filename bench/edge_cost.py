"""The HTTP layer's own cost per EvaluateFeature, in process: the edge vs a base commit's.

    python bench/edge_cost.py --base 575fcd6

The base commit's evaluation fast path (``services/evaluation/fastpath.py``, which
bypassed Starlette for the evaluation routes) is taken from git; both layers get
the same ASGI scope and body and a handler that does the same work around the
evaluation (parse the input, check the evaluation context, return a fixed
result), so the difference is the layer's cost: routing, label decoding,
validation, request id, metrics, the response. No network, no server: the
figure is CPU time per request, as medians of interleaved runs.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from services.evaluation.app import HANDLERS  # noqa: E402
from shared.domain.arn import ArnScheme  # noqa: E402
from shared.edge.app import Call, Edge  # noqa: E402
from shared.edge.routing import Service  # noqa: E402
from shared.wire.common import json_object  # noqa: E402

RESULT = {
    "variation": "control",
    "value": {"stringValue": "control"},
    "reason": "EXPERIMENT_RULE_MATCH",
}
BODY = orjson.dumps({"entityId": "user-12345", "evaluationContext": '{"country": "NZ"}'})
SCOPE = {
    "type": "http",
    "method": "POST",
    "path": "/projects/bench/evaluations/f",
    "raw_path": b"/projects/bench/evaluations/f",
    "query_string": b"",
    "headers": [(b"content-type", b"application/json"), (b"amz-sdk-invocation-id", b"rid")],
}

ResourceName = Annotated[str, Field(min_length=1, max_length=127, pattern=r"^[-a-zA-Z0-9._]*$")]


class BaseRequest(BaseModel):
    """The base commit's EvaluateFeatureRequest, which its data plane parsed the body with."""

    model_config = ConfigDict(extra="ignore", strict=False)
    project: str
    feature: ResourceName
    entityId: Annotated[str, Field(min_length=1, max_length=512)]
    evaluationContext: str | None = None


class BasePlane:
    def evaluate_feature(self, project: str, feature: str, body: bytes, rid: str) -> Any:
        request = BaseRequest.model_validate(
            {**orjson.loads(body), "project": project, "feature": feature}
        )
        json_object(request.evaluationContext or "{}", "evaluationContext")
        return RESULT


def evaluate(call: Call) -> Any:
    json_object(call.input.get("evaluationContext") or "{}", "evaluationContext")
    return RESULT


def load_base_fast_path(base: str, folder: Path) -> Any:
    source = subprocess.run(
        ["git", "show", f"{base}:services/evaluation/fastpath.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # Its imports of modules that no longer exist, replaced by what it used of them.
    source = source.replace(
        "from services.evaluation.dataplane import DataPlane", "DataPlane = object"
    )
    source = source.replace(
        "from shared.http import INTERNAL_ERROR_BODY", 'INTERNAL_ERROR_BODY = {"message": "x"}'
    )
    source = source.replace(
        "from shared.routing import collapse_arn_segments", "collapse_arn_segments = None"
    )
    path = folder / "base_fastpath.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("base_fastpath", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def per_request_us(app: Any, n: int) -> float:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(_message: dict[str, Any]) -> None:
        pass

    started = time.perf_counter()
    for _ in range(n):
        await app(SCOPE, receive, send)
    return (time.perf_counter() - started) / n * 1e6


async def measure(base: str, rounds: int, n: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        module = load_base_fast_path(base, Path(tmp))

    async def unreachable(_scope: Any, _receive: Any, _send: Any) -> None:
        raise AssertionError("the fast path answers EvaluateFeature itself")

    before = module.EvaluationFastPath(unreachable)
    before.plane = BasePlane()
    after = Edge(
        Service.EVALUATION,
        {**HANDLERS, "EvaluateFeature": evaluate},
        ArnScheme("us-east-1", "000000000000"),
    )
    runs: dict[str, list[float]] = {"before": [], "after": []}
    for _ in range(rounds):
        runs["before"].append(await per_request_us(before, n))
        runs["after"].append(await per_request_us(after, n))
    medians = {k: statistics.median(v) for k, v in runs.items()}
    return {
        "base": base,
        "median_us": medians,
        "ratio": medians["after"] / medians["before"],
        "runs_us": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", default="575fcd6")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args()
    report = asyncio.run(measure(args.base, args.rounds, args.requests))
    out = REPO / "bench" / "results" / "edge-cost.json"
    out.write_text(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    m = report["median_us"]
    print(
        f"EvaluateFeature, HTTP layer in process: base {m['before']:.2f} µs, edge"
        f" {m['after']:.2f} µs per request ({report['ratio']:.2f}×), medians of {args.rounds}"
    )


if __name__ == "__main__":
    main()
