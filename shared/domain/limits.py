"""The limits a metric event must keep to be counted: stated once, for every reader.

PutProjectEvents refuses an event that breaks one (that event alone, in its
``eventResults``), and the processor skips one that reaches it another way (a
producer of one's own), so a single value can never poison an aggregate.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.domain.observations import Observation

# A value's square must stay a finite double: the aggregates keep Σy² and Σxy, and
# 1e150² = 1e300 is still below the largest double (~1.8e308) with room for sums.
MAX_ABS_VALUE = 1e150
# EvaluateFeature's own limit on an entity id (botocore model, shape EntityId), so an
# entity that can be assigned can also be measured, and no longer one can.
MAX_ENTITY_ID_LENGTH = 512
# Nesting of an event's ``data``. orjson, which writes every record, refuses more than
# 254 levels; 64 leaves the record around ``data`` room and is far beyond real events.
MAX_DATA_DEPTH = 64
# One event's ``data`` in UTF-8. A Kafka record is at most 1 MiB by default (the
# producer's max_request_size, the broker's message.max.bytes): a larger one would
# fail at the broker as if it were an outage. 256 KiB keeps the record well inside.
MAX_DATA_BYTES = 256 * 1024


def value_breach(value: float) -> str | None:
    """Why ``value`` cannot be counted, or None. NaN fails too: no comparison holds."""
    if abs(value) <= MAX_ABS_VALUE:
        return None
    return f"value {value!r} is outside ±{MAX_ABS_VALUE:g}, the largest magnitude counted"


def entity_id_breach(entity_id: str) -> str | None:
    """Why ``entity_id`` cannot be counted, or None."""
    if len(entity_id) <= MAX_ENTITY_ID_LENGTH:
        return None
    return (
        f"entity id of {len(entity_id)} characters is longer than"
        f" {MAX_ENTITY_ID_LENGTH}, the longest an entity id may be"
    )


def observation_breach(observation: Observation) -> str | None:
    """Why one observation cannot be counted (the first limit it breaks), or None."""
    problem = entity_id_breach(observation.entity_id) or value_breach(observation.value)
    if problem is None:
        return None
    return f"metric {observation.metric}: {problem}"


def first_breach(observations: Iterable[Observation]) -> str | None:
    for observation in observations:
        problem = observation_breach(observation)
        if problem is not None:
            return problem
    return None


def deeper_than(value: object, limit: int) -> bool:
    """Whether decoded JSON nests objects and arrays more than ``limit`` levels.

    A loop over an explicit stack, not recursion: the depth being checked is the
    attacker's choice, and Python's recursion limit must never be what stops it.
    ``{}`` and ``[]`` are one level; a scalar is none.
    """
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Iterable[object] = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
