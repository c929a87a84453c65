"""SIGTERM to the evaluation service: what its requests queued is written before it exits.

Sticky rows are written to Postgres every 100 ms and assignment events sent to
Kafka after up to 200 ms, off the request path; a stop right after the last
answer must still deliver every one of them.
"""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import timedelta
from typing import Any

import asyncpg
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from infra.launch.infrastructure import Infrastructure
from infra.launch.stack import Stack
from shared import topics
from tests.e2e.helpers import make_experiment, make_feature, now, propagated

pytestmark = pytest.mark.e2e

ENTITIES = 400
BATCH = 20  # BatchEvaluateFeature's limit


async def _sticky_rows(database_url: str, entities: list[str]) -> dict[str, str]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT entity_id, treatment FROM sticky_assignments WHERE entity_id = ANY($1)",
            entities,
        )
    finally:
        await conn.close()
    return {r["entity_id"]: r["treatment"] for r in rows}


async def _assignments(bootstrap: str, entities: set[str]) -> dict[str, str]:
    """entity -> treatment, from every assignment record of these entities on the topic."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topics.ASSIGNMENTS])
    finally:
        await admin.close()
    parts = [TopicPartition(topics.ASSIGNMENTS, p["partition"]) for p in described["partitions"]]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.assign(parts)
        await consumer.seek_to_beginning()
        end = await consumer.end_offsets(parts)
        found: dict[str, str] = {}
        position = {tp: 0 for tp in parts}
        deadline = time.monotonic() + 30.0
        while any(position[tp] < end[tp] for tp in parts) and time.monotonic() < deadline:
            for tp, messages in (await consumer.getmany(timeout_ms=500)).items():
                for m in messages:
                    position[tp] = m.offset + 1
                    body = orjson.loads(m.value)
                    for one in body if isinstance(body, list) else [body]:
                        if one["entityId"] in entities:
                            found[one["entityId"]] = one["treatment"]
        return found
    finally:
        await consumer.stop()


def test_sigterm_writes_every_sticky_row_and_assignment_event_first(
    stack: Stack, infrastructure: Infrastructure, evidently: Any, unique: str
) -> None:
    project = f"shutdown-{unique}"
    evidently.create_project(name=project)
    make_feature(evidently, project)
    make_experiment(evidently, project, samplingRate=100000)
    evidently.start_experiment(
        project=project, experiment="e", analysisCompleteTime=now() + timedelta(days=1)
    )
    propagated(stack)
    entities = [f"{unique}-{i}" for i in range(ENTITIES)]
    answered: dict[str, str] = {}
    for start in range(0, ENTITIES, BATCH):
        results = evidently.batch_evaluate_feature(
            project=project,
            requests=[{"feature": "f", "entityId": e} for e in entities[start : start + BATCH]],
        )["results"]
        for result in results:
            assert result["reason"] == "EXPERIMENT_RULE_MATCH", result
            answered[result["entityId"]] = result["variation"]
    evaluation = stack.services["evaluation"].process

    try:
        stack.stop_service("evaluation")  # SIGTERM, at once
        # Uvicorn shuts down gracefully, then exits by the signal it caught; a SIGKILL
        # would mean the stop outlasted stop_service's patience.
        assert evaluation.returncode == -signal.SIGTERM

        sticky = asyncio.run(_sticky_rows(infrastructure.database_url, entities))
        assert sticky == answered
        sent = asyncio.run(_assignments(infrastructure.kafka_bootstrap_servers, set(entities)))
        assert sent == answered
    finally:
        stack.start_service("evaluation")
        stack.wait_healthy("evaluation")
