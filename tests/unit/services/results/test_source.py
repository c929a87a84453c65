"""The results service's reader of aggregate cells: a record it cannot read keeps the cell."""

from __future__ import annotations

import orjson

from services.results.source import CellSource
from shared.domain.cells import Cell, cumulative, cumulative_series
from shared.domain.stats.sums import PowerSums
from shared.streams import CellRecord, SnapshotMark


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
