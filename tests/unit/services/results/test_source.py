"""The results service's reader of aggregate cells: a record it cannot read keeps the cell."""

from __future__ import annotations

import orjson

from services.results.source import CellSource
from shared.domain.cells import Cell, cumulative
from shared.domain.stats.sums import PowerSums
from shared.streams import CellRecord


async def test_an_unreadable_record_leaves_the_last_good_cell() -> None:
    source = CellSource("127.0.0.1:1", "verdict.aggregates")
    await source.consumer.stop()  # never started: only its records are fed here
    cell = Cell(PowerSums.point(0.0, 2.0) + PowerSums.point(0.0, 4.0), 2)
    record = CellRecord("x", "revenue", "control", 3, 60, 0, cell)
    source._apply(record.key(), record.encode())
    newer = orjson.dumps({**orjson.loads(record.encode()), "v": 3})
    source._apply(record.key(), newer)
    source._apply(record.key(), b"{not json")
    assert source.skipped == 2
    assert cumulative([source.cells("x")[("revenue", "control", 3)]]).comoments.n == 2
    source._apply(record.key(), None)  # a tombstone still takes it out
    assert cumulative([source.cells("x")[("revenue", "control", 3)]]).comoments.n == 0
