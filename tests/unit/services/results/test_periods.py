"""GetExperimentResults' period: any whole number of seconds from a minute up."""

from __future__ import annotations

import pytest

from services.results.endpoints import _period
from shared.edge.model import load
from shared.edge.validation import Compiler
from shared.errors import ValidationException


def test_any_period_from_a_minute_is_taken_and_shorter_ones_name_the_field() -> None:
    for period in (60, 61, 90, 300, 3_599, 3_600, 86_400, 90_000):
        assert _period(period, 60) == period
        assert _period(period, 3_600) == period  # an experiment of hour cells, too
    assert _period(None, 60) == 86_400
    for period in (0, 1, 59):
        with pytest.raises(ValidationException, match="period must be at least 60") as raised:
            _period(period, 60)
        assert raised.value.fields["fieldList"] == [
            {"name": "period", "message": "period must be at least 60 seconds"}
        ]


def test_a_stack_of_shorter_buckets_takes_looks_as_fine_as_one_bucket() -> None:
    assert _period(2, 2) == 2
    with pytest.raises(ValidationException, match="at least 2 seconds"):
        _period(1, 2)


def test_the_edge_takes_the_same_periods_for_get_experiment_results() -> None:
    """botocore's ResultsPeriod starts at 300; Verdict's model widens it to 60."""
    check = Compiler(load()).check("GetExperimentResultsRequest")
    request = {"project": "p", "experiment": "e", "metricNames": ["m"], "treatmentNames": ["t"]}
    for period, problems in (
        (60, []),
        (299, []),
        (86_400, []),
        (59, [("period", "Member must have value greater than or equal to 60")]),
    ):
        found: list[tuple[str, str]] = []
        check({**request, "period": period}, "", found)
        assert found == problems, period
