"""Metrics, request ids and structured logs: the same on every service.

Metric names follow Prometheus conventions: a ``verdict_`` prefix, base units
as suffixes (``_seconds``), ``_total`` on counters. One ASGI middleware gives
every request an id (``x-request-id`` in, or a new one; ``x-amzn-RequestId``
out, as AWS services answer) and records requests and latency per Evidently
operation: that is the edge's (``shared/edge/app.py``).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import sys
import time
from collections.abc import Iterator, Mapping
from typing import Any

import orjson
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
)
from prometheus_client.core import CounterMetricFamily

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

# Latency buckets from 100 µs: the evaluation path lives well below a millisecond.
LATENCY_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.002,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)

HTTP_REQUESTS = Counter(
    "verdict_http_requests_total",
    "HTTP requests by operation and status",
    ["service", "operation", "status"],
)
HTTP_LATENCY = Histogram(
    "verdict_http_request_duration_seconds",
    "HTTP request latency by operation",
    ["service", "operation"],
    buckets=LATENCY_BUCKETS,
)
EVENTS_INGESTED = Counter(
    "verdict_events_ingested_total", "Events the broker acknowledged", ["project", "type"]
)
EVENTS_REJECTED = Counter("verdict_events_rejected_total", "Events refused, by reason", ["reason"])
ASSIGNMENT_EVENTS = Counter(
    "verdict_assignment_events_total", "Assignment events by outcome", ["outcome"]
)
EVENTSTORE_APPEND = Histogram(
    "verdict_eventstore_append_duration_seconds",
    "Event-store append latency",
    buckets=LATENCY_BUCKETS,
)
PROJECTION_POSITION = Gauge(
    "verdict_projection_position", "Feed position the projection has applied", ["service"]
)
PROJECTION_LAG = Gauge(
    "verdict_projection_lag_events", "Events known to the feed but not yet applied", ["service"]
)
RESULTS_COMPUTATION = Histogram(
    "verdict_results_computation_seconds",
    "Time to compute experiment results",
    ["operation"],
    buckets=LATENCY_BUCKETS,
)
EVENTS_ACKNOWLEDGED_LATE = Counter(
    "verdict_events_acknowledged_late_total",
    "Events PutProjectEvents reported failed that the broker took after the call's bound",
)
RESULTS_INCONSISTENT = Counter(
    "verdict_results_inconsistent_aggregates_total",
    "Reads of aggregate cells that describe no set of entities (a negative count or M2)",
)
PROCESSOR_RECORDS = Counter(
    "verdict_processor_records_total", "Records the processor handled", ["topic", "outcome"]
)
PROCESSOR_LAG = Gauge(
    "verdict_processor_consumer_lag_messages",
    "Messages behind the partition's end",
    ["topic", "partition"],
)


def count_records(topic: str, counts: Mapping[str, int]) -> None:
    """Add one batch's outcome counts to ``verdict_processor_records_total``."""
    for outcome, n in counts.items():
        if n:
            PROCESSOR_RECORDS.labels(topic, outcome).inc(n)


def forget_lag(topic: str, partition: int) -> None:
    """Drop a revoked partition's lag gauge, which would otherwise keep its last value."""
    with contextlib.suppress(KeyError):
        PROCESSOR_LAG.remove(topic, str(partition))


# Counted by `verdict up`'s supervisor, which tells each process it starts how many
# restarts came before it (``verdict serve --restarts N``): the series keeps rising
# across the restarts it counts.
SERVICE_RESTARTS = Counter(
    "verdict_service_restarts_total",
    "Restarts of this service by its supervisor after it exited on its own",
    ["service"],
)
PROCESSOR_CELLS = Gauge("verdict_processor_aggregate_cells", "Aggregate cells held in memory")
PROCESSOR_ENTITIES = Gauge("verdict_processor_entity_rows", "Entity rows in the table")


class EvaluationCounts:
    """``verdict_evaluations_total``, counted in a plain dict and exported at scrape time.

    A labelled prometheus-client Counter costs a label lookup and a lock per
    increment; on the evaluation path, 20 times per batch request, that was
    9% of the service's CPU under load (py-spy, wrk on BatchEvaluateFeature).
    """

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.counts: dict[tuple[str, str, str], int] = {}
        registry.register(self)

    def add(self, project: str, feature: str, reason: str) -> None:
        key = (project, feature, reason)
        counts = self.counts
        counts[key] = counts.get(key, 0) + 1

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "verdict_evaluations",
            "Feature evaluations by reason and feature",
            labels=["project", "feature", "reason"],
        )
        for (project, feature, reason), value in list(self.counts.items()):
            family.add_metric([project, feature, reason], value)
        yield family


EVALUATIONS = EvaluationCounts()


def incoming_request_id(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The caller's request id: x-request-id, or the id botocore puts on every call."""
    for key, value in headers:
        if key in (b"x-request-id", b"amz-sdk-invocation-id"):
            return value.decode("latin-1")
    return None


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = request_id_var.get()
        if rid:
            entry["requestId"] = rid
        for key in ("requestId", "experiment", "entityId", "partition", "offset"):
            value = record.__dict__.get(key)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def configure_logging(service: str, level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    formatter_time = time.gmtime
    logging.Formatter.converter = formatter_time
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
