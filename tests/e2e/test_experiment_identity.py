"""Experiment ids, and an upgrade from a state written before they existed.

Before schema 2 of ExperimentCreated, an experiment's data (sticky assignments,
assignment events, processor rows, aggregate cells) was keyed by
``project/name@created``. Such an experiment keeps that key as its id, so a state
written by that version stays valid: this test writes one as that version did and
checks that the running stack reads it.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from infra.launch.stack import Stack
from shared.domain.codec import encode
from shared.domain.events import (
    ExperimentConfig,
    ExperimentCreated,
    MetricDefinition,
    MetricGoal,
    Treatment,
)
from shared.envelope import NewEvent
from shared.eventstore import EventStore, create_pool
from tests.e2e.helpers import make_experiment, make_feature, now, propagated

pytestmark = pytest.mark.e2e


def test_a_new_experiment_is_keyed_by_a_uuid(stack: Stack, evidently: Any, unique: str) -> None:
    project = f"ids-{unique}"
    evidently.create_project(name=project)
    make_feature(evidently, project)
    make_experiment(evidently, project)
    url = f"{stack.url('frontdoor')}/projects/{project}/experiments/e/aggregates"
    key = httpx.get(url).json()["experimentKey"]
    assert len(key) == 36 and key.count("-") == 4


async def _write_as_the_old_version(
    database_url: str, project: str, created: datetime, sticky_entity: str
) -> str:
    """An ExperimentCreated of schema 1 and a sticky row under the old key, as the
    version before experiment ids wrote them. Returns that key."""
    config = ExperimentConfig(
        description=None,
        treatments=(
            Treatment("control", None, "f", "control"),
            Treatment("treatment", None, "f", "treatment"),
        ),
        metric_goals=(
            MetricGoal(MetricDefinition("revenue", "userDetails.userId", "details.revenue")),
        ),
        control_treatment="control",
        # Everyone new goes to control: only a sticky row can give "treatment".
        treatment_weights={"control": 100_000, "treatment": 0},
        randomization_salt="old",
        sampling_rate=100_000,
        segment=None,
    )
    payload = encode(ExperimentCreated(created, project, "old", config, {}, "unused"))
    del payload["experiment_id"]
    key = f"{project}/old@{created.timestamp():.6f}"
    pool = await create_pool(database_url)
    try:
        await EventStore(pool).append(
            f"experiment-{project}/old",
            0,
            [NewEvent("ExperimentCreated", payload, schema_version=1)],
        )
        conn: asyncpg.Connection
        async with pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO sticky_assignments (experiment_key, entity_id, treatment)"
                " VALUES ($1, $2, 'treatment')",
                key,
                sticky_entity,
            )
    finally:
        await pool.close()
    return key


def test_a_state_written_before_experiment_ids_is_read_as_it_was(
    stack: Stack, evidently: Any, unique: str
) -> None:
    project = f"legacy-{unique}"
    evidently.create_project(name=project)
    make_feature(evidently, project)
    created = datetime.now(UTC).replace(microsecond=123456) - timedelta(minutes=5)
    key = asyncio.run(
        _write_as_the_old_version(
            stack.infrastructure.database_url, project, created, "sticky-user"
        )
    )
    propagated(stack, ("evaluation", "results"))
    evidently.start_experiment(
        project=project, experiment="old", analysisCompleteTime=now() + timedelta(days=1)
    )
    # The evaluation service loads the sticky rows of running experiments at start.
    stack.stop_service("evaluation")
    stack.start_service("evaluation")
    stack.wait_healthy("evaluation")
    propagated(stack, ("evaluation",))

    def treatment(entity: str) -> str:
        details = evidently.evaluate_feature(project=project, feature="f", entityId=entity)
        return str(json.loads(details["details"])["treatment"])

    assert treatment("sticky-user") == "treatment"
    assert treatment("someone-new") == "control"
    url = f"{stack.url('frontdoor')}/projects/{project}/experiments/old/aggregates"
    assert httpx.get(url).json()["experimentKey"] == key
