"""Per-key request rate limits at the edge, shaped on CloudWatch Evidently's API quotas.

The edge asks ``RateLimiter.check(principal, operation, project)`` once per request,
after the signature is verified and the project label is resolved to its name (an ARN
and a name of one project must land in one bucket). ``None`` lets the request through;
a number is the seconds until it would be allowed, and the edge answers 429
ThrottlingException (``Retry-After`` rounded up). botocore retries ThrottlingException
with its own backoff and does not read ``Retry-After``; other clients may.

Defaults: the "API quotas" of the Evidently quotas page
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch-Evidently-quotas.html),
whose figures hold for us-east-1, Verdict's default region:

=====================  ======  =====  ==============================================
class                  rate/s  burst  AWS's quota
=====================  ======  =====  ==============================================
EvaluateFeature          1000   1000  1000 TPS (200 outside us-east-1, us-west-2,
                                      eu-west-1)
BatchEvaluateFeature       50     50  50 TPS
PutProjectEvents         1000   1000  1000 TPS (200 outside those three Regions)
Read (Get*, List*)         10     20  10 TPS combined across all CRUD APIs
Write (the rest)           10     20  (the same quota)
=====================  ======  =====  ==============================================

Where Verdict differs from AWS, on purpose:

- AWS counts a quota per account and Region. Verdict keys a bucket by
  (principal, project, class) for the data plane and by (principal, class) for the
  control plane, so one noisy key or project does not starve the others.
- AWS's 10 TPS covers reads and writes together; Verdict gives each its own bucket,
  so a dashboard's List calls do not hold up a deploy's writes.
- A BatchEvaluateFeature call costs one token, whatever the number of evaluations
  in it: Evidently's quota is in transactions (calls), and a call carries at most
  20 evaluations by the botocore model.
- AWS publishes no burst. Data-plane buckets hold one second of their rate, control
  plane buckets two, so a setup script's short run of calls goes through unthrottled.

Environment (read once, by ``RateLimits.from_env``; the services give it only
``VERDICT_RATE_LIMITS``, from ``Settings.rate_limits``, so the per-class variables below
work where a caller passes its whole environment):

``VERDICT_RATE_LIMITS``
    ``off`` turns every limit off (and wins over the variables below). Otherwise a
    comma-separated list of ``CLASS=SPEC``, e.g.
    ``EvaluateFeature=2000,PutProjectEvents=500:1000,Read=off``; classes are
    EvaluateFeature, BatchEvaluateFeature, PutProjectEvents, Read, Write, in any case.
``VERDICT_RATE_EVALUATEFEATURE``, ``VERDICT_RATE_BATCHEVALUATEFEATURE``,
``VERDICT_RATE_PUTPROJECTEVENTS``, ``VERDICT_RATE_READ``, ``VERDICT_RATE_WRITE``
    One class's ``SPEC``; wins over that class's entry in ``VERDICT_RATE_LIMITS``.
``VERDICT_RATE_MAX_KEYS``
    Most buckets kept in memory (default 10000); see "Memory" below.

A ``SPEC`` is ``off``, ``RATE`` or ``RATE:BURST``: RATE in requests per second (a
positive decimal, e.g. ``0.5``), BURST in requests (a positive integer; when omitted,
one second of RATE for the data plane, two for the control plane, at least 1). An
empty variable is unset. A bad value raises ValueError naming the variable.

Algorithm: GCRA (the generic cell rate algorithm of ATM, ITU-T I.371), which is a
token bucket stored as one number per key, its theoretical arrival time (TAT). A
request at ``now`` is allowed when ``max(TAT, now) + 1/rate - now <= burst/rate``,
and then moves TAT by ``1/rate``. So any window of length W admits at most
``rate * W + burst`` requests, and an idle bucket refills to ``burst``. Times are
integer nanoseconds (``time.monotonic_ns`` unless a clock is injected) and rates exact
fractions, scaled so that every comparison is between integers: no rounding can admit
one request too many.

Memory: buckets live in an LRU (``OrderedDict``). A bucket whose TAT has passed is
full, the same as no bucket, so each allowed check also drops up to two full buckets
from the LRU's cold end: idle keys drain as traffic flows, two for each new one. Past
``max_keys`` the coldest bucket goes even if not full; that forgets a debt (fails open,
never throttles anyone wrongly) and is counted in ``evicted_early``.

Concurrency: each process runs one asyncio event loop and ``check`` never awaits, so
no two checks interleave and no lock is needed. Limits are per process: N replicas
behind a balancer admit up to N times the rate.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from shared.domain.access import OperationClass as AccessClass
from shared.domain.access import operation_class

NANOSECONDS = 1_000_000_000


class OperationClass(StrEnum):
    """What a request is counted against; the values are the names used in the environment."""

    EVALUATE_FEATURE = "EvaluateFeature"
    BATCH_EVALUATE_FEATURE = "BatchEvaluateFeature"
    PUT_PROJECT_EVENTS = "PutProjectEvents"
    READ = "Read"
    WRITE = "Write"


DATA_PLANE: dict[str, OperationClass] = {
    "EvaluateFeature": OperationClass.EVALUATE_FEATURE,
    "BatchEvaluateFeature": OperationClass.BATCH_EVALUATE_FEATURE,
    "PutProjectEvents": OperationClass.PUT_PROJECT_EVENTS,
}
_PER_PROJECT = frozenset(DATA_PLANE.values())

# Seconds of its rate a bucket holds when a SPEC gives no BURST.
BURST_SECONDS: dict[OperationClass, int] = {
    OperationClass.EVALUATE_FEATURE: 1,
    OperationClass.BATCH_EVALUATE_FEATURE: 1,
    OperationClass.PUT_PROJECT_EVENTS: 1,
    OperationClass.READ: 2,
    OperationClass.WRITE: 2,
}

LIST_VARIABLE = "VERDICT_RATE_LIMITS"
MAX_KEYS_VARIABLE = "VERDICT_RATE_MAX_KEYS"
CLASS_VARIABLES: dict[OperationClass, str] = {
    kind: f"VERDICT_RATE_{kind.value.upper()}" for kind in OperationClass
}
# Every variable this module reads, for config's one list.
ENVIRONMENT_VARIABLES: tuple[str, ...] = (
    LIST_VARIABLE,
    *CLASS_VARIABLES.values(),
    MAX_KEYS_VARIABLE,
)


def classify(operation: str) -> OperationClass:
    """The class an Evidently operation counts against."""
    kind = DATA_PLANE.get(operation)
    if kind is not None:
        return kind
    # Reads and writes as access keys' scopes see them: one classification of operations.
    if operation_class(operation) is AccessClass.READ:
        return OperationClass.READ
    return OperationClass.WRITE


@dataclass(frozen=True, slots=True)
class Limit:
    """A sustained rate (requests per second) and a burst (requests at once from idle)."""

    rate: float
    burst: int

    def __post_init__(self) -> None:
        if isinstance(self.rate, bool) or not (math.isfinite(self.rate) and self.rate > 0):
            raise ValueError(f"rate must be a positive number of requests per second: {self.rate}")
        if isinstance(self.burst, bool) or not isinstance(self.burst, int) or self.burst < 1:
            raise ValueError(f"burst must be a positive integer: {self.burst}")


def _default(kind: OperationClass, rate: float) -> Limit:
    return Limit(rate, max(1, math.ceil(rate * BURST_SECONDS[kind])))


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Each class's limit; ``None`` is unlimited. Defaults: see the module docstring."""

    evaluate_feature: Limit | None = Limit(1000, 1000)
    batch_evaluate_feature: Limit | None = Limit(50, 50)
    put_project_events: Limit | None = Limit(1000, 1000)
    read: Limit | None = Limit(10, 20)
    write: Limit | None = Limit(10, 20)
    max_keys: int = 10_000

    def __post_init__(self) -> None:
        if self.max_keys < 1:
            raise ValueError(f"max_keys must be a positive integer: {self.max_keys}")

    @classmethod
    def off(cls) -> RateLimits:
        return cls(None, None, None, None, None)

    @property
    def enabled(self) -> bool:
        return any(self.limit(kind) is not None for kind in OperationClass)

    def limit(self, kind: OperationClass) -> Limit | None:
        return {
            OperationClass.EVALUATE_FEATURE: self.evaluate_feature,
            OperationClass.BATCH_EVALUATE_FEATURE: self.batch_evaluate_feature,
            OperationClass.PUT_PROJECT_EVENTS: self.put_project_events,
            OperationClass.READ: self.read,
            OperationClass.WRITE: self.write,
        }[kind]

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> RateLimits:
        """The limits the environment asks for (the variables are in the module docstring)."""
        defaults = cls()
        limits = {kind: defaults.limit(kind) for kind in OperationClass}
        listed = environ.get(LIST_VARIABLE, "").strip()
        if listed.lower() == "off":
            return cls.off()
        if listed:
            limits.update(_parse_list(listed))
        for kind, variable in CLASS_VARIABLES.items():
            spec = environ.get(variable, "").strip()
            if spec:
                limits[kind] = _parse_spec(variable, kind, spec)
        raw = environ.get(MAX_KEYS_VARIABLE, "").strip()
        return cls(
            evaluate_feature=limits[OperationClass.EVALUATE_FEATURE],
            batch_evaluate_feature=limits[OperationClass.BATCH_EVALUATE_FEATURE],
            put_project_events=limits[OperationClass.PUT_PROJECT_EVENTS],
            read=limits[OperationClass.READ],
            write=limits[OperationClass.WRITE],
            max_keys=_parse_max_keys(raw) if raw else defaults.max_keys,
        )


_CLASS_NAMES = {kind.value.lower(): kind for kind in OperationClass}


def _parse_list(listed: str) -> dict[OperationClass, Limit | None]:
    limits: dict[OperationClass, Limit | None] = {}
    for item in listed.split(","):
        if not item.strip():
            continue
        name, equals, spec = item.partition("=")
        kind = _CLASS_NAMES.get(name.strip().lower())
        if not equals or kind is None:
            raise ValueError(
                f"{LIST_VARIABLE}: expected 'off' or CLASS=SPEC entries with CLASS one of "
                f"{', '.join(OperationClass)}; got {item.strip()!r}"
            )
        if kind in limits:
            raise ValueError(f"{LIST_VARIABLE}: {kind} is given twice")
        limits[kind] = _parse_spec(f"{LIST_VARIABLE} ({kind})", kind, spec.strip())
    return limits


def _parse_spec(variable: str, kind: OperationClass, spec: str) -> Limit | None:
    if spec.lower() == "off":
        return None
    rate_text, colon, burst_text = spec.partition(":")
    try:
        rate = float(rate_text)
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(rate_text)
        return Limit(rate, int(burst_text)) if colon else _default(kind, rate)
    except ValueError:
        raise ValueError(
            f"{variable}: expected RATE[:BURST] (a positive number of requests per second, "
            f"a positive integer burst) or 'off', got {spec!r}"
        ) from None


def _parse_max_keys(raw: str) -> int:
    try:
        max_keys = int(raw)
    except ValueError:
        max_keys = 0
    if max_keys < 1:
        raise ValueError(f"{MAX_KEYS_VARIABLE}: expected a positive integer, got {raw!r}")
    return max_keys


@dataclass(frozen=True, slots=True)
class _Rule:
    """One class's limit in integer units: time is nanoseconds times ``scale``, the
    numerator of the rate, so the emission interval 1/rate is a whole number."""

    scale: int
    interval: int
    tolerance: int

    @classmethod
    def of(cls, limit: Limit) -> _Rule:
        # str() is the shortest decimal of the float: "0.1" becomes exactly 1/10.
        rate = Fraction(str(limit.rate))
        interval = NANOSECONDS * rate.denominator
        return cls(rate.numerator, interval, limit.burst * interval)


Key = tuple[str, str, OperationClass]


class RateLimiter:
    """GCRA buckets per (principal, project, class), in an LRU of at most ``max_keys``."""

    def __init__(self, limits: RateLimits, clock: Callable[[], int] = time.monotonic_ns) -> None:
        self.limits = limits
        self._clock = clock
        self._rules: dict[OperationClass, _Rule] = {}
        for kind in OperationClass:
            limit = limits.limit(kind)
            if limit is not None:
                self._rules[kind] = _Rule.of(limit)
        self._max_keys = limits.max_keys
        self._tat: OrderedDict[Key, int] = OrderedDict()
        # Buckets dropped before they were full: debts forgotten under key pressure.
        self.evicted_early = 0

    def __len__(self) -> int:
        return len(self._tat)

    def check(self, principal: str, operation: str, project: str | None) -> float | None:
        """None if the request is allowed (and counted); else seconds until it would be."""
        kind = classify(operation)
        rule = self._rules.get(kind)
        if rule is None:
            return None
        # The control plane shares one bucket across projects, as AWS's CRUD quota does.
        key = (principal, (project or "") if kind in _PER_PROJECT else "", kind)
        now_ns = self._clock()
        now = now_ns * rule.scale
        tats = self._tat
        tat = max(tats.get(key, now), now)
        after = tat + rule.interval
        if after - now > rule.tolerance:
            # Only a bucket that exists can be empty: a new one holds burst >= 1.
            tats.move_to_end(key)
            wait_ns = -(-(after - now - rule.tolerance) // rule.scale)  # rounded up
            return wait_ns / NANOSECONDS
        tats[key] = after
        tats.move_to_end(key)
        self._evict(now_ns)
        return None

    def _evict(self, now_ns: int) -> None:
        # Two per check: the LRU shrinks faster than one new key a check can grow it.
        tats = self._tat
        for _ in range(2):
            key, tat = next(iter(tats.items()))
            full = tat <= now_ns * self._rules[key[2]].scale
            if len(tats) > self._max_keys:
                if not full:
                    self.evicted_early += 1
            elif not full:
                return
            tats.popitem(last=False)
