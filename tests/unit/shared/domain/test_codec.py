"""Every event survives the trip through JSON unchanged."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from shared.domain.codec import encode, from_json
from shared.domain.events import (
    AppConfigResource,
    DataDelivery,
    FeatureCreated,
    ProjectCreated,
    TagsChanged,
)
from shared.domain.values import ValueType, VariableValue, Variation

NOW = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)


def round_trip(event: object) -> object:
    return from_json(type(event), orjson.loads(orjson.dumps(encode(event))))


def test_events_round_trip() -> None:
    events = [
        ProjectCreated(
            NOW,
            "p",
            None,
            {"k": "v"},
            DataDelivery("lg", None, None),
            AppConfigResource("abcd", "efgh", None),
        ),
        FeatureCreated(
            NOW,
            "p",
            "f",
            "d",
            (
                Variation("a", VariableValue(ValueType.DOUBLE, 1.5)),
                Variation("b", VariableValue(ValueType.DOUBLE, 2.0)),
            ),
            "a",
            "ALL_RULES",
            {"u": "b"},
            {},
        ),
        TagsChanged(NOW, {"a": "b"}),
    ]
    for event in events:
        assert round_trip(event) == event


def test_the_view_skips_event_types_it_does_not_know() -> None:
    from shared.domain.projection import ConfigView, apply
    from shared.envelope import Envelope

    view = ConfigView()
    apply(view, Envelope("project-p", 1, 7, "FromTheFuture", 1, NOW, {"x": 1}))
    assert view.position == 7 and view.unknown_events == 1 and not view.projects
