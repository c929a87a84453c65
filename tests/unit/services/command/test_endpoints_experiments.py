"""The experiment handlers on the in-memory store: wire members in and out, and
ListLabExperiments' pages, spellings and access scopes (no HTTP: a ``Call`` is built as
the edge builds it)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import partial
from types import SimpleNamespace
from typing import Any

import pytest

from services.command.application import ControlPlane
from services.command.endpoints import experiments as endpoints
from shared.domain.access import AccessKey, Scope
from shared.domain.arn import ArnScheme
from shared.domain.projection import ConfigView, apply
from shared.domain.values import ValueType, VariableValue, Variation
from shared.edge.app import Call, Reply
from shared.edge.auth import Principal
from shared.edge.tokens import TokenCodec
from shared.errors import ValidationException
from shared.eventstore import InMemoryEventStore
from shared.feed import Feed

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
PATTERN = json.dumps({"details": {"revenue": [{"exists": True}]}})


@pytest.fixture
async def state() -> AsyncIterator[SimpleNamespace]:
    store = InMemoryEventStore()
    view = ConfigView()
    feed = Feed(store, None, partial(apply, view), poll_interval=0.05)
    await feed.start()
    app = ControlPlane(store, feed, view, ArnScheme("us-east-1", "000000000000"), clock=lambda: T0)
    try:
        yield SimpleNamespace(application=app, tokens=TokenCodec(b"k" * 32))
    finally:
        await feed.stop()


def call(
    state: SimpleNamespace, operation: str, document: dict[str, Any], key: AccessKey | None = None
) -> Call:
    return Call(operation, document, [], "rid", state, Principal(key) if key else None)


def goal(name: str, **members: Any) -> dict[str, Any]:
    definition = {"name": name, "entityIdKey": "u", "valueKey": f"v.{name}"}
    return {"metricDefinition": definition, **members}


def experiment_body(project: str, name: str, **members: Any) -> dict[str, Any]:
    return {
        "project": project,
        "name": name,
        "treatments": [
            {"name": "control", "feature": "f", "variation": "a"},
            {"name": "treatment", "feature": "f", "variation": "b"},
        ],
        "metricGoals": [goal("revenue")],
        **members,
    }


async def projects(state: SimpleNamespace, *names: str) -> None:
    app: ControlPlane = state.application
    for project in names:
        await app.create_project(project)
        await app.create_feature(
            project,
            "f",
            variations=[Variation(v, VariableValue(ValueType.STRING, v)) for v in ("a", "b")],
        )


async def create(state: SimpleNamespace, project: str, name: str, **members: Any) -> Any:
    reply = await endpoints.create_experiment(
        call(state, "CreateExperiment", experiment_body(project, name, **members))
    )
    assert isinstance(reply, Reply)
    return reply.body["experiment"]


async def test_every_member_goes_in_and_comes_back(state: SimpleNamespace) -> None:
    await projects(state, "shop")
    goals = [
        goal(
            "revenue",
            metricType="SUM",
            goal=10.5,
            conversionWindowSeconds=3600,
            cap={"kind": "PERCENTILE", "value": 99.0},
        ),
        goal("checkout", metricType="FUNNEL", role="SECONDARY", funnelSteps=[PATTERN]),
        goal(
            "per_order",
            metricType="FORMULA",
            role="GUARDRAIL",
            formula={"operator": "RATIO", "numerator": "revenue", "denominator": "checkout"},
        ),
    ]
    goals[1]["metricDefinition"]["eventPattern"] = PATTERN
    shown = await create(
        state,
        "shop",
        "e",
        metricGoals=goals,
        exposureEvent={"eventPattern": PATTERN, "entityIdKey": "userDetails.userId"},
        hypothesis="h",
        links={"prd": "https://example.com"},
        subjectType="customer_id",
        parentId="lab-a",
    )
    assert shown["metricGoals"][0] == {
        **goals[0],
        "desiredChange": "INCREASE",
        "role": "PRIMARY",
    }
    assert shown["metricGoals"][1]["funnelSteps"] == [PATTERN]
    assert shown["metricGoals"][2]["formula"]["denominator"] == "checkout"
    assert shown["exposureEvent"] == {"eventPattern": PATTERN, "entityIdKey": "userDetails.userId"}
    assert (shown["hypothesis"], shown["links"]) == ("h", {"prd": "https://example.com"})
    assert (shown["subjectType"], shown["parentId"]) == ("CUSTOMER_ID", "LAB-A")
    plain = await create(state, "shop", "plain")
    assert plain["metricGoals"][0] == {
        **goal("revenue"),
        "desiredChange": "INCREASE",
        "metricType": "SUM",
        "role": "PRIMARY",
    }
    assert (plain["subjectType"], plain["parentId"]) == ("ANY", "DEFAULT")
    assert "exposureEvent" not in plain and "links" not in plain and "hypothesis" not in plain


async def test_remove_exposure_event_on_update(state: SimpleNamespace) -> None:
    await projects(state, "shop")
    await create(state, "shop", "e", exposureEvent={"eventPattern": PATTERN, "entityIdKey": "u"})
    update = {"project": "shop", "experiment": "e", "removeExposureEvent": True}
    reply = await endpoints.update_experiment(call(state, "UpdateExperiment", update))
    assert isinstance(reply, Reply) and "exposureEvent" not in reply.body["experiment"]


async def test_a_lab_lists_across_projects_in_pages_whatever_its_spelling(
    state: SimpleNamespace,
) -> None:
    await projects(state, "blog", "shop")
    for project in ("blog", "shop"):
        for name in ("a", "b", "c"):
            await create(state, project, name, parentId="lab-one")
        await create(state, project, "other", parentId="lab-two")

    async def page(lab: str, token: str | None = None, size: int = 4) -> dict[str, Any]:
        document: dict[str, Any] = {"lab": lab, "maxResults": size}
        if token:
            document["nextToken"] = token
        result: dict[str, Any] = await endpoints.list_lab_experiments(
            call(state, "ListLabExperiments", document)
        )
        return result

    first = await page("lab-one")
    second = await page("LAB-ONE", first["nextToken"])
    assert "nextToken" not in second
    listed = [(x["project"].rsplit("/", 1)[1], x["name"]) for x in first["experiments"]]
    listed += [(x["project"].rsplit("/", 1)[1], x["name"]) for x in second["experiments"]]
    assert listed == [(p, n) for p in ("blog", "shop") for n in ("a", "b", "c")]
    assert all(x["parentId"] == "LAB-ONE" for x in first["experiments"])
    two = await page("Lab-Two", size=100)
    assert [x["name"] for x in two["experiments"]] == ["other", "other"]
    with pytest.raises(ValidationException, match="nextToken"):
        await page("lab-two", first["nextToken"])


async def test_a_key_limited_to_projects_sees_only_theirs(state: SimpleNamespace) -> None:
    await projects(state, "blog", "shop")
    await create(state, "blog", "x", parentId="lab")
    await create(state, "shop", "x", parentId="lab")
    limited = AccessKey("VKIA" + "A" * 16, "sealed", Scope.READ, ("shop",), None, T0)
    anyone = AccessKey("VKIA" + "B" * 16, "sealed", Scope.READ, (), None, T0)

    async def arns(key: AccessKey | None) -> list[str]:
        result = await endpoints.list_lab_experiments(
            call(state, "ListLabExperiments", {"lab": "lab"}, key)
        )
        return [x["arn"].split(":")[-1] for x in result["experiments"]]

    assert await arns(limited) == ["project/shop/experiment/x"]
    assert await arns(anyone) == ["project/blog/experiment/x", "project/shop/experiment/x"]
    assert await arns(None) == await arns(anyone)
