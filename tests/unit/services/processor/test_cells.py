"""The processor's partition cells: snapshots of one moment, and no half-applied entity."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.processor.cells import PartitionCells
from shared.domain.cells import CellPlan
from shared.domain.entity import EntityState

PLAN = CellPlan.of(("m",))


def exposed(entity_value: float) -> EntityState:
    return EntityState(60).with_exposure("c", 0.0).with_event("m", 30.0, entity_value, 1)


def test_a_snapshot_is_a_copy_of_one_moment() -> None:
    """The snapshot timer sends its cells across awaits while the join goes on: what it
    took must not change under it."""
    cells = PartitionCells(60)
    cells.contribute(0, "x", PLAN, None, exposed(2.0))
    taken = dict(cells.take_dirty())
    before = {k: (c.sums, c.conversions) for k, c in taken.items()}
    cells.contribute(0, "x", PLAN, exposed(2.0), exposed(2.0).with_event("m", 40.0, 5.0, 2))
    assert {k: (c.sums, c.conversions) for k, c in taken.items()} == before


def test_an_entity_that_cannot_be_computed_changes_no_cell() -> None:
    cells = PartitionCells(60)
    cells.contribute(0, "x", PLAN, None, exposed(2.0))
    snapshot = {k: (c.sums, c.conversions) for k, c in cells.cells[0]["x"].items()}
    broken = replace(exposed(3.0), metrics={"m": None})  # type: ignore[dict-item]
    with pytest.raises(AttributeError):
        cells.deltas(PLAN, exposed(2.0), broken)
    assert {k: (c.sums, c.conversions) for k, c in cells.cells[0]["x"].items()} == snapshot


def test_a_rebuild_leaves_out_a_row_it_cannot_take() -> None:
    cells = PartitionCells(60)
    broken = replace(exposed(3.0), metrics={"m": None})  # type: ignore[dict-item]
    folded = cells.rebuild(0, [("x", exposed(2.0)), ("x", broken)], {"x": PLAN})
    assert folded == 1 and 0 in cells.built
