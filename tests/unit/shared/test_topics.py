from __future__ import annotations

from collections import Counter

import pytest

from shared.topics import by_entity_partition, entity_partition


@pytest.mark.parametrize(
    ("entity", "partitions", "expected"),
    # MurmurHash3_x86_32, seed 0, unsigned: "user-1" -> 4171401059, "é" -> 269551495.
    [("user-1", 4, 4171401059 % 4), ("user-1", 7, 4171401059 % 7), ("é", 7, 269551495 % 7)],
)
def test_entity_partition_vectors(entity: str, partitions: int, expected: int) -> None:
    assert entity_partition(entity, partitions) == expected


def test_entity_partition_spreads_entities_evenly_and_takes_lone_surrogates() -> None:
    counts = Counter(entity_partition(f"user-{i}", 4) for i in range(40_000))
    assert set(counts) == {0, 1, 2, 3}
    assert max(counts.values()) - min(counts.values()) < 600  # ~4.6 sd of a fair split
    assert 0 <= entity_partition("\ud800", 4) < 4


def test_by_entity_partition_chunks_each_partition_and_keeps_order() -> None:
    ids = [f"user-{i}" for i in range(1000)]
    chunks = list(by_entity_partition(ids, str, 4, 100))
    assert sorted(i for _, chunk in chunks for i in chunk) == sorted(ids)
    for partition, chunk in chunks:
        assert 1 <= len(chunk) <= 100
        assert all(entity_partition(i, 4) == partition for i in chunk)
        # Within a partition, arrival order is kept: the join folds in that order.
        positions = [ids.index(i) for i in chunk]
        assert positions == sorted(positions)
