"""Cells that roll up: the aggregate at any cutoff from a few merged cells, not from all.

The processor writes one cell per (experiment, metric, treatment, bucket) and partition;
buckets are a minute by default, an hour for cells written before that default. Results
ask for the cumulative aggregate at each look: every bucket that began before the look's
time T. Summing the buckets one by one costs as many merges as there are buckets, up to
43,200 a series for a 30-day experiment of minute cells, and it grows as the data fill
them. A ``Rollup`` keeps one series' cells merged per bucket and also per minute, hour
and day, each level grouped under the next (an hour's minutes, a day's hours, all the
days), and the running sums within each group. The aggregate before T is then

    days before T's day  +  hours of T's day before T's hour
                         +  minutes of T's hour before T's minute  (+ buckets of T's minute),

one running sum per level. A running sum is computed when first asked for and kept until
a cell at or before it changes: the first look after a change extends at most
days + 24 + 60 of them, later looks merge at most four cells, however many cells or
events the series holds.

The cells' sums are exact, so adding, taking out and regrouping them in any order gives
the same aggregate as summing the buckets directly. Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Sequence

from shared.domain.cells import Cell, Cumulative, cumulative, merge_cell

DAY = 86_400
# The units cells roll up into above their own bucket, finest first; each divides the next.
ROLLUP_SECONDS = (60, 3_600, DAY)

# The running sum of no cells. Running sums are never changed once computed (a change
# drops them instead), so one empty cell serves every group.
_NOTHING = Cell()


def common_base(bucket_seconds: Iterable[int]) -> int:
    """The finest unit the given bucket sizes roll up from: their greatest common divisor
    with a day, so every bucket's start is a whole number of it and days are whole too."""
    return math.gcd(DAY, *bucket_seconds)


class _Group:
    """The cells of one parent unit (an hour's minutes, a day's hours, or all the days),
    by index, with the running sums over them, computed when asked for."""

    __slots__ = ("cells", "indices", "sums")

    def __init__(self) -> None:
        self.cells: dict[int, Cell] = {}
        self.indices: list[int] = []  # the keys of ``cells``, ascending
        # sums[i] is the sum of the cells at indices[:i]; valid for as long as it exists.
        self.sums: list[Cell] = [_NOTHING]

    def add(self, index: int, cell: Cell, sign: int) -> None:
        position = bisect_left(self.indices, index)
        mine = self.cells.get(index)
        if mine is None:
            mine = self.cells[index] = Cell()
            self.indices.insert(position, index)
        merge_cell(mine, cell, sign)
        # The sums up to this index are unchanged; those past it include it.
        del self.sums[position + 1 :]

    def below(self, index: int) -> Cell:
        """The sum of this group's cells at indices below ``index``."""
        wanted = bisect_left(self.indices, index)
        sums = self.sums
        while len(sums) <= wanted:
            last = len(sums) - 1
            extended = Cell()
            merge_cell(extended, sums[last], +1)
            merge_cell(extended, self.cells[self.indices[last]], +1)
            sums.append(extended)
        return sums[wanted]


class _Level:
    """One unit's cells, grouped by the next unit up (the top level is one group)."""

    __slots__ = ("unit", "span", "groups")

    def __init__(self, unit: int, parent: int | None) -> None:
        self.unit = unit
        # Units per parent unit; 0 at the top, whose one group holds every index.
        self.span = parent // unit if parent is not None else 0
        self.groups: dict[int, _Group] = {}

    def group_of(self, index: int) -> int:
        return index // self.span if self.span else 0


def _levels(base: int) -> list[_Level]:
    if base <= 0 or DAY % base:
        raise ValueError(f"a bucket of {base} s does not divide a day")
    units = [base, *(u for u in ROLLUP_SECONDS if u > base and u % base == 0)]
    parents: list[int | None] = [*units[1:], None]
    return [_Level(unit, parent) for unit, parent in zip(units, parents, strict=True)]


class Rollup:
    """One series' cells (an experiment's metric and treatment) by the second their bucket
    starts, rolled up per minute, hour and day.

    ``base`` is a number of seconds dividing a day that every bucket start is a multiple
    of: the bucket size, or ``common_base`` of several. A look at time T counts every
    bucket that began before T.
    """

    __slots__ = ("_base", "_levels")

    def __init__(self, base: int) -> None:
        self._base = base
        self._levels = _levels(base)

    @property
    def base(self) -> int:
        return self._base

    def add(self, start: int, cell: Cell, sign: int) -> None:
        """Add (sign=+1) or take out (sign=-1) a bucket's cell; ``start`` is the second
        the bucket begins."""
        if start % self._base:
            raise ValueError(f"a bucket starting at {start} s is not on the {self._base} s grid")
        for level in self._levels:
            index = start // level.unit
            group = level.group_of(index)
            found = level.groups.get(group)
            if found is None:
                found = level.groups[group] = _Group()
            found.add(index, cell, sign)

    def rebase(self, base: int) -> None:
        """Regroup under a finer base, when buckets of another size join the series."""
        if self._base % base:
            raise ValueError(f"a base of {base} s does not divide {self._base} s")
        if base == self._base:
            return
        cells = self.cells()
        self._base = base
        self._levels = _levels(base)
        for start, cell in cells.items():
            self.add(start, cell, +1)

    def cells(self) -> dict[int, Cell]:
        """The merged cells by the second their bucket starts."""
        finest = self._levels[0]
        return {
            index * finest.unit: cell
            for group in finest.groups.values()
            for index, cell in group.cells.items()
        }

    def at(self, cutoff: float) -> Cumulative:
        """The aggregate of every bucket that began before ``cutoff`` (epoch seconds)."""
        return cumulative([self.cell_at(cutoff)])

    def cell_at(self, cutoff: float) -> Cell:
        """The merged cell of every bucket that began before ``cutoff``: its exact sums, for
        what needs more than the statistics (a percentile cap's bins)."""
        # Buckets start on whole multiples of the base: those before the cutoff are the
        # first ``count`` of them.
        count = -(-math.ceil(cutoff) // self._base)
        end = count * self._base
        parts = []
        for level in self._levels:
            index = end // level.unit
            group = level.groups.get(level.group_of(index))
            if group is not None:
                parts.append(group.below(index))
        total = Cell()
        for part in parts:
            merge_cell(total, part, +1)
        return total

    def series(self, cutoffs: Sequence[float]) -> list[Cumulative]:
        return [self.at(cutoff) for cutoff in cutoffs]
