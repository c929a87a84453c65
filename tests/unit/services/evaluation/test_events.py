"""PutProjectEvents' per-event decisions: derived event ids and the limits of one event."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import pytest

from services.evaluation.events import _check_event, event_id, idempotency_key
from shared.domain.limits import MAX_DATA_BYTES
from shared.domain.observations import MetricSpec, split_path
from shared.edge.app import Call
from shared.errors import ValidationException

SPECS = (MetricSpec("x", "revenue", split_path("user.id"), split_path("$.details.revenue"), None),)


def call(*headers: tuple[str, str]) -> Call:
    return Call("PutProjectEvents", {}, [(k.encode(), v.encode()) for k, v in headers], "r", None)


def test_a_keyed_call_gets_the_same_ids_on_every_retry() -> None:
    ids = [event_id("shop", "key-1", i) for i in range(3)]
    assert ids == [event_id("shop", "key-1", i) for i in range(3)]
    assert len(set(ids)) == 3
    assert all(uuid.UUID(i).version == 5 for i in ids)
    assert event_id("shop", "key-2", 0) != ids[0]
    assert event_id("shop-2", "key-1", 0) != ids[0]


def test_without_a_key_every_id_is_new() -> None:
    assert event_id("shop", None, 0) != event_id("shop", None, 0)


def test_the_clients_own_key_wins_over_botocores() -> None:
    invocation = ("amz-sdk-invocation-id", "b0c0")
    assert idempotency_key(call(invocation)) == "b0c0"
    assert idempotency_key(call(invocation, ("Idempotency-Key", "mine"))) == "mine"
    assert idempotency_key(call(("idempotency-key", ""))) is None
    assert idempotency_key(call()) is None


def event(data: Any) -> dict[str, Any]:
    return {"type": "aws.evidently.custom", "timestamp": time.time(), "data": json.dumps(data)}


def check(data: Any) -> dict[str, Any]:
    return _check_event(event(data), time.time(), SPECS)


def test_an_event_within_every_limit_passes() -> None:
    data = {"user": {"id": "u" * 512}, "details": {"revenue": -1e150}, "entityId": "e" * 512}
    assert check(data) == data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"user": {"id": "u"}, "details": {"revenue": 1e151}}, "metric revenue: value 1e+151"),
        ({"user": {"id": "u" * 513}, "details": {"revenue": 1}}, "longer than 512"),
        ({"entityId": "e" * 513}, "longer than 512"),
        ({"pad": "x" * MAX_DATA_BYTES}, f"larger than {MAX_DATA_BYTES} bytes"),
        ({"pad": "é" * (MAX_DATA_BYTES // 2)}, f"larger than {MAX_DATA_BYTES} bytes"),
    ],
    ids=["value", "metric-entity-id", "top-level-entity-id", "size", "size-in-utf8"],
)
def test_an_event_past_a_limit_is_refused_naming_it(data: Any, message: str) -> None:
    with pytest.raises(ValidationException, match=re.escape(message)):
        check(data)


def test_a_value_no_experiment_takes_is_not_judged() -> None:
    data = {"user": {"id": "u"}, "details": {"other": 1e300}}
    assert check(data) == data
