"""The results service's reader of aggregate cells: a record it cannot read keeps the cell."""

from __future__ import annotations

import orjson

from services.results.source import CellSource
from shared.domain.cells import Cell, cumulative, cumulative_series
from shared.domain.stats.sums import PowerSums
from shared.streams import CellRecord, SnapshotMark, SnapshotReset


async def test_an_unreadable_record_leaves_the_last_good_cell() -> None:
    source = CellSource("127.0.0.1:1", "verdict.aggregates")
    await source.consumer.stop()  # never started: only its records are fed here
    cell = Cell(PowerSums.point(0.0, 2.0) + PowerSums.point(0.0, 4.0), 2)
    record = CellRecord("x", "revenue", "control", 3, 60, 0, cell)
    mark = SnapshotMark(0)
    source._read(0, record.key(), record.encode())
    assert source.cells("x") == {}  # held until the snapshot's mark
    source._read(0, mark.key(), mark.encode())
    newer = orjson.dumps({**orjson.loads(record.encode()), "v": 3})
    source._apply(record.key(), newer)
    source._apply(record.key(), b"{not json")
    assert source.skipped == 2
    assert cumulative([source.cells("x")[("revenue", "control", 3)]]).comoments.n == 2
    source._apply(record.key(), None)  # a tombstone still takes it out
    assert cumulative([source.cells("x")[("revenue", "control", 3)]]).comoments.n == 0


async def test_half_a_snapshot_is_never_applied() -> None:
    """An entity's move takes its point out of one bucket and into another: a reader that
    saw one of the two cells would hold sums of no set of entities."""
    source = CellSource("127.0.0.1:1", "verdict.aggregates")
    await source.consumer.stop()
    old = PowerSums.point(0.0, 1.0)
    new = PowerSums.point(0.0, 7.0)
    first = CellRecord("x", "m", "c", 1, 60, 2, Cell(old, 1))
    mark = SnapshotMark(2)
    source._read(2, first.key(), first.encode())
    source._read(2, mark.key(), mark.encode())
    moved_out = CellRecord("x", "m", "c", 5, 60, 2, Cell(new - old, 0))
    source._read(2, moved_out.key(), moved_out.encode())
    series = cumulative_series(dict(source_cells(source)), [2, 6])
    assert [c.comoments.mean_y for c in series] == [1.0, 1.0]  # the move is not yet seen
    source._read(2, mark.key(), mark.encode())
    series = cumulative_series(dict(source_cells(source)), [2, 6])
    assert [c.comoments.mean_y for c in series] == [1.0, 7.0]


def source_cells(source: CellSource) -> dict[int, Cell]:
    return {b: cell for (_, _, b), cell in source.cells("x").items()}


async def test_a_reset_snapshot_replaces_everything_its_partition_published() -> None:
    """A partition rebuilt after a crash republishes the cells it has now; one that became
    empty is not among them, and must not linger from before."""
    source = CellSource("127.0.0.1:1", "verdict.aggregates")
    await source.consumer.stop()
    stale = CellRecord("x", "m", "c", 1, 60, 3, Cell(PowerSums.point(0.0, 1.0), 1))
    moved = CellRecord("x", "m", "t", 1, 60, 3, Cell(PowerSums.point(0.0, 1.0), 1))
    other = CellRecord("x", "m", "c", 1, 60, 2, Cell(PowerSums.point(0.0, 5.0), 1))
    mark3, mark2 = SnapshotMark(3), SnapshotMark(2)
    for record, mark in ((stale, mark3), (other, mark2)):
        source._read(mark.partition, record.key(), record.encode())
        source._read(mark.partition, mark.key(), mark.encode())
    reset = SnapshotReset(3)
    source._read(3, reset.key(), reset.encode())
    source._read(3, moved.key(), moved.encode())
    assert cumulative([source.cells("x")[("m", "c", 1)]]).comoments.n == 2  # not yet
    source._read(3, mark3.key(), mark3.encode())
    cells = source.cells("x")
    assert cumulative([cells[("m", "c", 1)]]).comoments.mean_y == 5.0  # partition 2's only
    assert cumulative([cells[("m", "t", 1)]]).comoments.n == 1


async def test_hour_and_minute_cells_of_one_experiment_count_from_their_own_start() -> None:
    """A processor that moved from hour to minute buckets republishes per partition: for a
    while an experiment holds both, and each bucket counts at looks after its own start."""
    source = CellSource("127.0.0.1:1", "verdict.aggregates")
    await source.consumer.stop()
    hour = 497_224  # 1_790_006_400 s
    start = hour * 3_600
    hourly = CellRecord("x", "m", "c", hour, 3_600, 1, Cell(PowerSums.point(0.0, 2.0), 1))
    minutely = CellRecord("x", "m", "c", hour * 60 + 30, 60, 2, Cell(PowerSums.point(0.0, 6.0), 1))
    for record in (hourly, minutely):
        mark = SnapshotMark(record.partition)
        source._read(record.partition, record.key(), record.encode())
        source._read(record.partition, mark.key(), mark.encode())
    assert source.bucket_seconds["x"] == 60
    series = source.rollups("x")[("m", "c")]
    at = [series.at(t) for t in (start, start + 1, start + 30 * 60, start + 30 * 60 + 0.5)]
    assert [c.comoments.n for c in at] == [0, 1, 1, 2]
    assert at[-1].comoments.mean_y == 4.0
    assert set(source.cells("x")) == {("m", "c", hour * 60), ("m", "c", hour * 60 + 30)}
    # The hour row's newer value replaces it at every level; a tombstone takes it out.
    newer = CellRecord("x", "m", "c", hour, 3_600, 1, Cell(PowerSums.point(0.0, 10.0), 1))
    source._apply(newer.key(), newer.encode())
    assert series.at(start + 3_600).comoments.mean_y == 8.0
    source._apply(newer.key(), None)
    assert series.at(start + 3_600).comoments.n == 1
    assert series.at(start + 3_600).comoments.mean_y == 6.0
