"""CreateFeature, GetFeature, UpdateFeature, DeleteFeature, ListFeatures."""

from __future__ import annotations

from typing import Any

from services.command.application import ControlPlane
from services.command.endpoints.common import application, context, listing, versioned
from shared.domain.feature import Feature
from shared.edge.app import Call
from shared.wire import features as wire
from shared.wire import render
from shared.wire.common import parse


def _rules(app: ControlPlane, f: Feature) -> list[dict[str, str]]:
    return [{"name": name, "type": kind} for name, kind in app.evaluation_rules(f)]


def body(app: ControlPlane, f: Feature) -> dict[str, Any]:
    shape = render.feature(f, app.arns, _rules(app, f))
    shape["resourceVersion"] = f.version
    return shape


async def create_feature(call: Call) -> Any:
    req = parse(wire.CreateFeatureRequest, call.input)
    app = application(call)
    feature = await app.create_feature(
        req.project,
        req.name,
        variations=[render.variation_from_wire(v) for v in req.variations],
        description=req.description,
        default_variation=req.defaultVariation,
        evaluation_strategy=req.evaluationStrategy,
        entity_overrides=dict(req.entityOverrides),
        tags=req.tags,
        context=context(call),
    )
    return versioned("feature", body(app, feature))


async def get_feature(call: Call) -> Any:
    app = application(call)
    feature = app.get_feature(call.input["project"], call.input["feature"])
    return versioned("feature", body(app, feature))


async def update_feature(call: Call) -> Any:
    req = parse(wire.UpdateFeatureRequest, call.input)
    app = application(call)
    feature = await app.update_feature(
        req.project,
        req.feature,
        description=req.description,
        add_or_update=[render.variation_from_wire(v) for v in req.addOrUpdateVariations],
        remove=req.removeVariations,
        default_variation=req.defaultVariation,
        evaluation_strategy=req.evaluationStrategy,
        entity_overrides=None if req.entityOverrides is None else dict(req.entityOverrides),
        context=context(call),
    )
    return versioned("feature", body(app, feature))


async def delete_feature(call: Call) -> Any:
    await application(call).delete_feature(
        call.input["project"], call.input["feature"], context(call)
    )
    return {}


async def list_features(call: Call) -> Any:
    app = application(call)
    return listing(
        call,
        "features",
        app.list_features(call.input["project"]),
        lambda f: f.name,
        lambda f: render.feature_summary(f, app.arns, _rules(app, f)),
        default=100,
    )
