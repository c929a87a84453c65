"""Results endpoints: thin wrappers over the merged aggregate cells."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from services.results.source import AggregateSource
from shared.domain.aggregation import Cell, cumulative
from shared.domain.arn import project_name
from shared.domain.evaluation import experiment_key
from shared.domain.experiment import Experiment
from shared.errors import ResourceNotFoundException
from shared.follower import ConfigFollower
from shared.http import json_response


def find_experiment(request: Request) -> Experiment:
    follower: ConfigFollower = request.app.state.follower
    project = project_name(request.path_params["project"])
    name = request.path_params["experiment"]
    if follower.view.project(project) is None:
        raise ResourceNotFoundException(f"project {project} does not exist", project, "Project")
    experiment = follower.view.experiment(project, name)
    if experiment is None:
        raise ResourceNotFoundException(
            f"experiment {name} does not exist in project {project}", name, "Experiment"
        )
    return experiment


def _summary(cells: list[Cell]) -> dict[str, Any]:
    c = cumulative(cells)
    m = c.comoments
    return {
        "n": m.n,
        "mean": m.mean_y,
        "variance": m.variance_y,
        "m2": m.m2_y,
        "conversions": c.conversions,
        "covariateMean": m.mean_x,
        "covariateVariance": m.variance_x,
        "covariance": m.covariance,
    }


async def experiment_aggregates(request: Request) -> Response:
    """Per metric and treatment: the cumulative sufficient statistics, and per bucket."""
    experiment = find_experiment(request)
    source: AggregateSource = request.app.state.source
    key = experiment_key(experiment)
    cells = source.cells(key)
    metrics: dict[str, dict[str, Any]] = {}
    for goal in experiment.config.metric_goals:
        metric = goal.definition.name
        per_treatment: dict[str, Any] = {}
        for treatment in (t.name for t in experiment.config.treatments):
            mine = sorted(
                (b, cell) for (m, t, b), cell in cells.items() if m == metric and t == treatment
            )
            series = []
            for i, (b, _) in enumerate(mine):
                series.append({"bucket": b, **_summary([cell for _, cell in mine[: i + 1]])})
            per_treatment[treatment] = {**_summary([cell for _, cell in mine]), "series": series}
        metrics[metric] = per_treatment
    return json_response(
        {
            "experiment": experiment.name,
            "experimentKey": key,
            "bucketSeconds": source.bucket_seconds.get(key),
            "metrics": metrics,
        }
    )
