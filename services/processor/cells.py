"""Per-partition statistics cells, derived from the entity table and kept in memory.

They are a function of the table: after a rebalance or a restart a partition's
cells are rebuilt from its recovered rows before its first record is
processed, so whatever the crash, the cells equal a fold of the table. Cells
changed since the last snapshot are marked dirty for the snapshot timer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from shared.domain.cells import Cell, CellKey, CellPlan, contribute, merge_cell
from shared.domain.entity import EntityState

log = logging.getLogger(__name__)

DirtyKey = tuple[int, str, CellKey]  # (partition, experiment key, cell key)


@dataclass
class PartitionCells:
    bucket_seconds: int
    cells: dict[int, dict[str, dict[CellKey, Cell]]] = field(default_factory=dict)
    dirty: set[DirtyKey] = field(default_factory=set)
    built: set[int] = field(default_factory=set)
    # Partitions rebuilt since their last snapshot: it replaces all they published before.
    reset: set[int] = field(default_factory=set)

    def contribute(
        self,
        partition: int,
        experiment: str,
        plan: CellPlan,
        before: EntityState | None,
        after: EntityState,
    ) -> None:
        deltas = self.deltas(plan, before, after)
        self.apply(partition, experiment, deltas)

    def deltas(
        self, plan: CellPlan, before: EntityState | None, after: EntityState
    ) -> dict[CellKey, Cell]:
        """What moving one entity from ``before`` to ``after`` adds to each cell, computed
        apart from the cells: if it fails, nothing has changed."""
        scratch: dict[CellKey, Cell] = {}
        contribute(scratch, plan, before, after, self.bucket_seconds)
        return scratch

    def apply(self, partition: int, experiment: str, deltas: Mapping[CellKey, Cell]) -> None:
        cells = self.cells.setdefault(partition, {}).setdefault(experiment, {})
        for key, delta in deltas.items():
            cell = cells.get(key)
            if cell is None:
                cell = cells[key] = Cell()
            merge_cell(cell, delta, +1)
            self.dirty.add((partition, experiment, key))

    def rebuild(
        self,
        partition: int,
        states: Iterable[tuple[str, EntityState]],
        plans: Mapping[str, CellPlan],
    ) -> int:
        """Fold the partition's entity states ((experiment key, state) pairs) into fresh cells."""
        self.cells[partition] = {}
        folded = 0
        for experiment, state in states:
            plan = plans.get(experiment)
            if plan is None:
                continue
            try:
                self.contribute(partition, experiment, plan, None, state)
            except Exception:
                # A row the cells cannot take is left out of them, never the reason a
                # partition cannot start: the join set its updates aside when it failed.
                log.exception("partition %d: an entity row left out of the cells", partition)
                continue
            folded += 1
        # Republish every cell: a snapshot sent before a crash may be stale.
        for experiment, cells in self.cells[partition].items():
            self.dirty |= {(partition, experiment, key) for key in cells}
        self.built.add(partition)
        self.reset.add(partition)
        return folded

    def revoke(self, partitions: Iterable[int]) -> None:
        for partition in partitions:
            self.built.discard(partition)
            self.reset.discard(partition)
            self.cells.pop(partition, None)
            self.dirty = {d for d in self.dirty if d[0] != partition}

    def take_reset(self) -> set[int]:
        taken, self.reset = self.reset, set()
        return taken

    def take_dirty(self) -> list[tuple[DirtyKey, Cell]]:
        taken, self.dirty = self.dirty, set()
        out = []
        for partition, experiment, key in taken:
            cell = self.cells.get(partition, {}).get(experiment, {}).get(key)
            if cell is not None:
                # A copy: the join goes on changing the cells while the snapshot is sent,
                # and a snapshot must be one moment's cells, or it describes no entities.
                out.append(((partition, experiment, key), cell.copy()))
        return out
