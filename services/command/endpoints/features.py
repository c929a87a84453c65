"""CreateFeature, GetFeature, UpdateFeature, DeleteFeature, ListFeatures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.command.endpoints.common import (
    check_quota,
    execute,
    handlers,
    listing,
    versioned,
)
from services.command.handlers import CommandHandlers, require
from shared.domain import feature as agg
from shared.domain.feature import Feature
from shared.edge.app import Call
from shared.wire import features as wire
from shared.wire import render
from shared.wire.common import parse


def evaluation_rules(h: CommandHandlers, f: Feature, now: datetime) -> list[dict[str, str]]:
    """The running launches and experiments that decide this feature's variations."""
    rules = [
        {"name": x.name, "type": "aws.evidently.splits"}
        for x in h.view.launches_of_feature(f.project, f.name)
        if x.status == "RUNNING"
    ]
    rules += [
        {"name": x.name, "type": "aws.evidently.onlineab"}
        for x in h.view.experiments_of_feature(f.project, f.name)
        if x.status_at(now) == "RUNNING"
    ]
    return rules


def in_use(h: CommandHandlers, f: Feature, now: datetime) -> tuple[set[str], set[str]]:
    """(variations used, resources using them) by running launches and experiments."""
    variations: set[str] = set()
    users: set[str] = set()
    for launch in h.view.launches_of_feature(f.project, f.name):
        if launch.status == "RUNNING":
            users.add(f"launch {launch.name}")
            variations |= {g.variation for g in launch.config.groups if g.feature == f.name}
    for experiment in h.view.experiments_of_feature(f.project, f.name):
        if experiment.status_at(now) == "RUNNING":
            users.add(f"experiment {experiment.name}")
            variations |= {t.variation for t in experiment.config.treatments}
    return variations, users


def body(h: CommandHandlers, f: Feature) -> dict[str, Any]:
    shape = render.feature(f, h.arns, evaluation_rules(h, f, h.clock()))
    shape["resourceVersion"] = f.version
    return shape


async def create_feature(call: Call) -> Any:
    req = parse(wire.CreateFeatureRequest, call.input)
    h = handlers(call)
    project = req.project
    h.project(project)

    def decide(existing: Feature | None, now: datetime) -> list[object]:
        live = sum(1 for _ in h.view.live_features(project))
        check_quota(live, h.quotas.features_per_project, "features per project")
        return list(
            agg.create_feature(
                existing,
                project=project,
                name=req.name,
                description=req.description,
                variations=[render.variation_from_wire(v) for v in req.variations],
                default_variation=req.defaultVariation,
                evaluation_strategy=req.evaluationStrategy,
                entity_overrides=dict(req.entityOverrides),
                tags=req.tags,
                now=now,
            )
        )

    await execute(
        call,
        agg.stream(project, req.name),
        lambda: h.view.features.get((project, req.name)),
        decide,
    )
    return versioned("feature", body(h, h.feature(project, req.name)))


async def get_feature(call: Call) -> Any:
    h = handlers(call)
    project = call.input["project"]
    return versioned("feature", body(h, h.feature(project, call.input["feature"])))


async def update_feature(call: Call) -> Any:
    req = parse(wire.UpdateFeatureRequest, call.input)
    h = handlers(call)
    project = req.project

    def decide(f: Feature | None, now: datetime) -> list[object]:
        feature = require(f)
        used, _ = in_use(h, feature, now)
        return list(
            agg.update_feature(
                feature,
                description=req.description,
                add_or_update=[render.variation_from_wire(v) for v in req.addOrUpdateVariations],
                remove=req.removeVariations,
                default_variation=req.defaultVariation,
                evaluation_strategy=req.evaluationStrategy,
                entity_overrides=None if req.entityOverrides is None else dict(req.entityOverrides),
                variations_in_use=used,
                now=now,
            )
        )

    await execute(
        call,
        agg.stream(project, req.feature),
        lambda: h.feature(project, req.feature),
        decide,
    )
    return versioned("feature", body(h, h.feature(project, req.feature)))


async def delete_feature(call: Call) -> Any:
    h = handlers(call)
    project = call.input["project"]
    name = call.input["feature"]

    def decide(f: Feature | None, now: datetime) -> list[object]:
        feature = require(f)
        _, users = in_use(h, feature, now)
        return list(agg.delete_feature(feature, used_by=users, now=now))

    await execute(
        call,
        agg.stream(project, name),
        lambda: h.feature(project, name),
        decide,
    )
    return {}


async def list_features(call: Call) -> Any:
    h = handlers(call)
    project = call.input["project"]
    h.project(project)
    now = h.clock()
    return listing(
        call,
        "features",
        h.view.live_features(project),
        lambda f: f.name,
        lambda f: render.feature_summary(f, h.arns, evaluation_rules(h, f, now)),
        default=100,
    )
