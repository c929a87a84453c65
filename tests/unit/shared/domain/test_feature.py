"""Feature aggregate: given events, when a command, then events (or an error)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.domain import feature as agg
from shared.domain.errors import Conflict, Invalid
from shared.domain.events import FeatureCreated, FeatureUpdated
from shared.domain.values import ValueType, VariableValue, Variation

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def v(name: str, value: str) -> Variation:
    return Variation(name, VariableValue(ValueType.STRING, value))


def created(**overrides: object) -> agg.Feature:
    kwargs: dict[str, object] = dict(
        project="p",
        name="f",
        description=None,
        variations=[v("a", "1"), v("b", "2")],
        default_variation=None,
        evaluation_strategy=None,
        entity_overrides={},
        tags={},
        now=NOW,
    )
    kwargs.update(overrides)
    events = agg.create_feature(None, **kwargs)  # type: ignore[arg-type]
    state = agg.apply(None, events[0], 1)
    assert state is not None
    return state


def test_default_variation_defaults_to_the_first() -> None:
    assert created().default_variation == "a"
    assert created().evaluation_strategy == "ALL_RULES"


def test_create_records_one_event() -> None:
    events = agg.create_feature(
        None,
        project="p",
        name="f",
        description="d",
        variations=[v("a", "1")],
        default_variation="a",
        evaluation_strategy="DEFAULT_VARIATION",
        entity_overrides={"u1": "a"},
        tags={"team": "x"},
        now=NOW,
    )
    assert events == [
        FeatureCreated(
            NOW, "p", "f", "d", (v("a", "1"),), "a", "DEFAULT_VARIATION", {"u1": "a"}, {"team": "x"}
        )
    ]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"variations": []}, "variations"),
        ({"variations": [v("a", "1")] * 2}, "variations"),
        (
            {"variations": [v("a", "1"), Variation("b", VariableValue(ValueType.LONG, 1))]},
            "variations",
        ),
        ({"default_variation": "zzz"}, "defaultVariation"),
        ({"entity_overrides": {"u": "zzz"}}, "entityOverrides"),
    ],
)
def test_invalid_features_name_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(Invalid) as error:
        created(**overrides)
    assert error.value.field == field


def test_creating_twice_conflicts_but_recreating_after_delete_is_allowed() -> None:
    feature = created()
    with pytest.raises(Conflict):
        agg.create_feature(
            feature,
            project="p",
            name="f",
            description=None,
            variations=[v("a", "1")],
            default_variation=None,
            evaluation_strategy=None,
            entity_overrides={},
            tags={},
            now=NOW,
        )
    deleted = agg.apply(feature, agg.delete_feature(feature, used_by=(), now=NOW)[0], 2)
    assert deleted is not None and deleted.deleted
    assert agg.create_feature(
        deleted,
        project="p",
        name="f",
        description=None,
        variations=[v("a", "1")],
        default_variation=None,
        evaluation_strategy=None,
        entity_overrides={},
        tags={},
        now=NOW,
    )


def test_update_adds_replaces_and_removes_variations() -> None:
    feature = created()
    [event] = agg.update_feature(
        feature,
        description="new",
        add_or_update=[v("b", "22"), v("c", "3")],
        remove=["a"],
        default_variation="c",
        evaluation_strategy=None,
        entity_overrides=None,
        variations_in_use=(),
        now=NOW,
    )
    assert isinstance(event, FeatureUpdated)
    updated = agg.apply(feature, event, 2)
    assert updated is not None
    assert [x.name for x in updated.variations] == ["b", "c"]
    assert updated.variation("b") == v("b", "22")
    assert updated.default_variation == "c"
    assert updated.version == 2


def test_removing_the_default_without_a_new_one_is_invalid() -> None:
    with pytest.raises(Invalid):
        agg.update_feature(
            created(),
            description=None,
            add_or_update=[],
            remove=["a"],
            default_variation=None,
            evaluation_strategy=None,
            entity_overrides=None,
            variations_in_use=(),
            now=NOW,
        )


def test_variations_in_use_cannot_be_removed_and_features_in_use_not_deleted() -> None:
    feature = created()
    with pytest.raises(Conflict):
        agg.update_feature(
            feature,
            description=None,
            add_or_update=[],
            remove=["b"],
            default_variation=None,
            evaluation_strategy=None,
            entity_overrides=None,
            variations_in_use=("b",),
            now=NOW,
        )
    with pytest.raises(Conflict):
        agg.delete_feature(feature, used_by=("launch l1",), now=NOW)
