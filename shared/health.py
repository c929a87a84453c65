"""What every process answers itself, outside the model: /healthz (alive), /readyz
(connected and caught up), /metrics (Prometheus text format)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shared.edge.app import Call, Reply

ReadinessCheck = Callable[[], tuple[bool, dict[str, object]]]


def healthz(_call: Call) -> Any:
    return {"status": "alive"}


def readyz(call: Call) -> Reply:
    check: ReadinessCheck | None = getattr(call.state, "readiness", None)
    if check is None:
        return Reply({"status": "starting"}, 503)
    ready, detail = check()
    if getattr(call.state, "auth", None) == "off":
        # Said wherever an operator looks: this service accepts unsigned requests.
        detail = {**detail, "auth": "off"}
    return Reply({"status": "ready" if ready else "not ready", **detail}, 200 if ready else 503)


def metrics(_call: Call) -> Reply:
    return Reply(content=generate_latest(), media_type=CONTENT_TYPE_LATEST.encode())


LOCAL_HANDLERS = {"Healthz": healthz, "Readyz": readyz, "Metrics": metrics}
