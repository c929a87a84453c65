"""EvaluateFeature's rules, in Evidently's order, as a pure function of the view."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from shared.domain.feature import Feature
from shared.domain.values import VariableValue


class Reason(enum.Enum):
    ENTITY_OVERRIDES_MATCH = "ENTITY_OVERRIDES_MATCH"
    LAUNCH_RULE_MATCH = "LAUNCH_RULE_MATCH"
    EXPERIMENT_RULE_MATCH = "EXPERIMENT_RULE_MATCH"
    DEFAULT = "DEFAULT"


@dataclass(frozen=True, slots=True)
class Evaluation:
    variation: str
    value: VariableValue
    reason: Reason
    details: dict[str, Any] = field(default_factory=dict)


def evaluate(feature: Feature, entity_id: str) -> Evaluation:
    # Overrides win before launches and experiments, as EvaluateFeature documents.
    override = feature.entity_overrides.get(entity_id)
    if override is not None:
        variation = feature.variation(override)
        if variation is not None:
            return Evaluation(variation.name, variation.value, Reason.ENTITY_OVERRIDES_MATCH)
    default = feature.variation(feature.default_variation)
    assert default is not None, "a feature's default variation is always one of its variations"
    return Evaluation(default.name, default.value, Reason.DEFAULT)
