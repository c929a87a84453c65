"""Aggregates that describe no set of entities are an error, logged and counted, not a zero."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from services.results.endpoints import consistent_aggregates
from shared.domain.cells import Cell, cumulative
from shared.domain.events import ExperimentConfig
from shared.domain.experiment import Experiment
from shared.domain.stats.sums import PowerSums
from shared.errors import InternalServerException
from shared.observability import RESULTS_INCONSISTENT


def test_a_negative_m2_is_an_internal_error_that_is_logged_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = ExperimentConfig(None, (), (), "c", {}, "salt", 100_000, None)
    experiment = Experiment("p", "x", config, {}, "CREATED", datetime.now(UTC), datetime.now(UTC))
    corrupt = Cell(
        PowerSums.point(0.0, 1.0) + PowerSums.point(0.0, 1.0) - PowerSums.point(0.0, 7.0)
    )
    before = RESULTS_INCONSISTENT._value.get()
    with (
        caplog.at_level(logging.ERROR),
        pytest.raises(InternalServerException, match="inconsistent"),
        consistent_aggregates(experiment),
    ):
        cumulative([corrupt])
    assert RESULTS_INCONSISTENT._value.get() == before + 1
    assert "inconsistent aggregates" in caplog.text
