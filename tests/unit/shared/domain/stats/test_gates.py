"""Amplitude's minimum-data gate (seed 002): 100 entities per variation, and 25 conversions
for binary metrics, with a message that names what is missing."""

from __future__ import annotations

from shared.domain.stats.gates import data_gate


def test_binary_metrics_need_entities_and_conversions_in_every_variation() -> None:
    gate = data_gate({"control": (150, 40), "B": (120, 24)}, binary=True)
    assert not gate.passed
    assert "'B' has 24 conversions of the 25 needed" in gate.message
    assert "'control'" not in gate.message
    assert data_gate({"control": (100, 25), "B": (100, 25)}, binary=True).passed


def test_each_short_variation_is_named_with_each_shortfall() -> None:
    gate = data_gate({"control": (99, 3), "B": (100, 25), "C": (10, 30)}, binary=True)
    assert not gate.passed
    assert "'control' has 99 entities of the 100 needed and 3 conversions of the 25 needed" in (
        gate.message
    )
    assert "'C' has 10 entities of the 100 needed" in gate.message
    assert "'B'" not in gate.message
    assert gate.message.endswith("at least 100 entities and 25 conversions")


def test_other_metrics_need_entities_only() -> None:
    assert data_gate({"control": (100, 0), "B": (300, 0)}, binary=False).passed
    gate = data_gate({"control": (100, 0), "B": (60, 0)}, binary=False)
    assert not gate.passed and "conversions" not in gate.message
    assert "'B' has 60 entities of the 100 needed" in gate.message


def test_thresholds_can_be_set_and_no_variation_never_passes() -> None:
    assert data_gate(
        {"A": (10, 2), "B": (10, 2)}, binary=True, min_entities=10, min_conversions=2
    ).passed
    assert not data_gate({}, binary=False).passed
