"""Results endpoints."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from services.results.source import AggregateSource
from shared.domain.arn import project_name
from shared.domain.stats.moments import Moments
from shared.http import json_response


async def event_aggregates(request: Request) -> Response:
    """Moments of every numeric event field of a project, merged over partitions."""
    source: AggregateSource = request.app.state.source
    project = project_name(request.path_params["project"])
    merged: dict[str, Moments] = {}
    for key, row in source.rows_for(f"{project}|"):
        _, metric, _partition = key.rsplit("|", 2)
        merged[metric] = merged.get(metric, Moments()).merge(row)
    return json_response(
        {
            "project": project,
            "aggregates": [
                {"metric": m, "count": v.n, "mean": v.mean, "m2": v.m2, "variance": v.variance}
                for m, v in sorted(merged.items())
            ],
        }
    )
