"""Rolled-up cells against the sum of the buckets, and against the entities behind them.

The reference of every look is the brute-force sum of the bucket cells that began before
the look's time, and numpy over the (x, y) each entity holds at that time. Entities move
their point as their outcome grows (a cell may then hold a removal), whole timelines are
taken out and put back (a row replaced), and looks are asked between changes, so the
running sums a rollup keeps must follow every change.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np
import pytest

from shared.domain import rollup as rollup_module
from shared.domain.cells import Cell, Cumulative, cumulative, merge_cell
from shared.domain.rollup import DAY, Rollup, common_base
from shared.domain.stats.sums import PowerSums

PERIODS = (60, 300, 3_600, 86_400)
SPAN = 3 * DAY


def point(x: float, y: float) -> Cell:
    return Cell(sums=PowerSums.point(x, y), conversions=int(y > 0))


def moved(new: Cell, old: Cell) -> Cell:
    """A bucket in which an entity's point changed: the new point in, the old one out."""
    cell = Cell()
    merge_cell(cell, new, +1)
    merge_cell(cell, old, -1)
    return cell


@dataclass
class Entity:
    """One entity's timeline: (start second, x, y) points, y cumulative."""

    points: list[tuple[int, float, float]]

    def cells(self) -> list[tuple[int, Cell]]:
        out = []
        previous: Cell | None = None
        for start, x, y in self.points:
            now = point(x, y)
            out.append((start, now if previous is None else moved(now, previous)))
            previous = now
        return out

    def at(self, cutoff: float) -> tuple[float, float] | None:
        held = [(x, y) for start, x, y in self.points if start < cutoff]
        return held[-1] if held else None


@dataclass
class World:
    """What was applied: live entities, and the bucket cells merged the brute-force way."""

    bucket_seconds: list[int]
    rng: random.Random
    origin: int
    entities: dict[int, Entity] = field(default_factory=dict)
    buckets: dict[int, Cell] = field(default_factory=dict)

    def join(self, rollup: Rollup) -> None:
        key = max(self.entities, default=-1) + 1
        self.entities[key] = self.entity()
        self.apply(rollup, self.entities[key], +1)

    def entity(self) -> Entity:
        size = self.rng.choice(self.bucket_seconds)
        first = self.origin + self.rng.randrange(SPAN // size) * size
        x = round(self.rng.uniform(-5, 20), 2)
        points = [(first, x, 0.0)]
        y = 0.0
        for _ in range(self.rng.randrange(4)):
            start = points[-1][0] + self.rng.randrange(1, 3 * 3_600 // size + 2) * size
            y += round(self.rng.uniform(0, 30), 2)
            points.append((start, x, y))
        return Entity(points)

    def apply(self, rollup: Rollup, entity: Entity, sign: int) -> None:
        for start, cell in entity.cells():
            rollup.add(start, cell, sign)
            merge_cell(self.buckets.setdefault(start, Cell()), cell, sign)

    def expected(self, cutoffs: list[float]) -> list[Cumulative]:
        """Bucket by bucket, in time order: each cutoff gets the sum of the buckets that
        began before it."""
        ordered = sorted(self.buckets.items())
        total = Cell()
        i = 0
        out: dict[float, Cumulative] = {}
        for cutoff in sorted(cutoffs):
            while i < len(ordered) and ordered[i][0] < cutoff:
                merge_cell(total, ordered[i][1], +1)
                i += 1
            out[cutoff] = cumulative([total])
        return [out[c] for c in cutoffs]

    def held(self, cutoff: float) -> np.ndarray:
        found = [e.at(cutoff) for e in self.entities.values()]
        return np.array([xy for xy in found if xy is not None]).reshape(-1, 2)


def looks(rng: random.Random, origin: int, period: int) -> list[float]:
    """Look times as GetExperimentResults makes them: from a start on no grid, one per
    period, capped at 1000, the last one at an end on no grid either."""
    start = origin - DAY / 2 + rng.uniform(0, DAY)
    end = origin + SPAN + rng.uniform(-DAY, DAY / 2)
    times = [start + k * period for k in range(1, 1001) if start + k * period < end]
    return [*times, end]


def check(world: World, rollup: Rollup, cutoffs: list[float]) -> None:
    got = rollup.series(cutoffs)
    for cutoff, found, expected in zip(cutoffs, got, world.expected(cutoffs), strict=True):
        assert found == expected, cutoff
    # What the sums mean: the entities' (x, y) held at that time, by numpy.
    for cutoff, found in list(zip(cutoffs, got, strict=True))[:: max(1, len(cutoffs) // 15)]:
        held = world.held(cutoff)
        assert found.comoments.n == len(held)
        assert found.conversions == int((held[:, 1] > 0).sum())
        if len(held):
            assert found.comoments.mean_y == pytest.approx(held[:, 1].mean(), rel=1e-12, abs=1e-12)
        if len(held) > 1:
            assert found.comoments.variance_y == pytest.approx(
                held[:, 1].var(ddof=1), rel=1e-9, abs=1e-9
            )


@pytest.mark.parametrize("period", PERIODS)
@pytest.mark.parametrize("bucket", [60, 3_600, 2])
@pytest.mark.parametrize("seed", range(3))
def test_every_look_is_the_sum_of_the_buckets_that_began_before_it(
    seed: int, bucket: int, period: int
) -> None:
    rng = random.Random(seed * 1_000 + bucket + period)
    origin = 1_790_000_000 - 1_790_000_000 % DAY + rng.randrange(DAY // bucket) * bucket
    world = World([bucket], rng, origin)
    rollup = Rollup(bucket)
    for round_ in range(4):
        for _ in range(rng.randrange(10, 60)):
            world.join(rollup)
        # A replaced row: its whole timeline out, another in its place.
        for key in rng.sample(sorted(world.entities), k=min(5, len(world.entities))):
            world.apply(rollup, world.entities.pop(key), -1)
            if rng.random() < 0.5:
                world.entities[key] = world.entity()
                world.apply(rollup, world.entities[key], +1)
        cutoffs = looks(rng, origin, period)
        if round_ % 2:
            cutoffs = [*cutoffs, *(origin + rng.uniform(-DAY, SPAN + DAY) for _ in range(30))]
        check(world, rollup, cutoffs)


@pytest.mark.parametrize("seed", range(4))
def test_hour_and_minute_buckets_of_one_series_roll_up_together(seed: int) -> None:
    """An older processor's hour cells beside minute cells (a rebuild under way): the
    series regroups on the finer grid and each bucket counts from its own start."""
    rng = random.Random(seed)
    origin = 20_718 * DAY
    world = World([3_600], rng, origin)
    series = Rollup(3_600)
    for _ in range(40):
        world.join(series)
    check(world, series, looks(rng, origin, 3_600))
    world.bucket_seconds = [60, 3_600]
    series.rebase(common_base([3_600, 60]))
    assert series.base == 60
    for _ in range(40):
        world.join(series)
    for period in PERIODS:
        check(world, series, looks(rng, origin, period))
    assert series.cells() == {s: c for s, c in world.buckets.items()}


ASSEMBLY = 3  # a look's day, hour and minute parts, added into its one cell


def test_a_look_costs_merges_of_running_sums_not_of_cells(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Loaded with every minute of three days, the first look extends the running sums
    of the days, hours and minutes before it (two merges each, at most days + 24 + 60
    of them); asking again merges nothing; a new cell in the look's own hour costs one
    extension, one in its first day one per day since. Each look then adds its three levels'
    parts into one cell (``ASSEMBLY`` merges)."""
    merges = 0
    real = rollup_module.merge_cell

    def counting(into: Cell, other: Cell, sign: int) -> None:
        nonlocal merges
        merges += 1
        real(into, other, sign)

    series = Rollup(60)
    origin = 20_718 * DAY
    for minute in range(3 * 1_440):
        series.add(origin + 60 * minute, point(1.0, float(minute % 7)), +1)
    monkeypatch.setattr(rollup_module, "merge_cell", counting)
    look = origin + 2 * DAY + 13 * 3_600 + 37 * 60 + 5  # counts minute 37 of hour 13
    first = series.at(look)
    assert first.comoments.n == 2 * 1_440 + 13 * 60 + 38
    assert merges - ASSEMBLY == 2 * (2 + 13 + 38) <= 2 * (3 + 24 + 60)
    merges = 0
    assert series.at(look) == first
    assert merges == ASSEMBLY
    series.add(origin + 2 * DAY + 13 * 3_600 + 37 * 60, point(0.0, 5.0), +1)
    merges = 0
    assert series.at(look).comoments.n == first.comoments.n + 1
    assert merges == 2 + ASSEMBLY
    series.add(origin + 60, point(0.0, 5.0), +1)
    merges = 0
    assert series.at(look).comoments.n == first.comoments.n + 2
    assert merges == 2 * 2 + ASSEMBLY


def test_common_base_and_the_grid() -> None:
    assert common_base([60]) == 60
    assert common_base([3_600, 60]) == 60
    assert common_base([2, 3_600]) == 2
    assert common_base([7]) == 1  # a bucket that divides no day rolls up from seconds
    assert common_base([5_400]) == 5_400  # 90 minutes: hours are not whole, days are
    series = Rollup(5_400)
    series.add(5_400 * 7, point(1.0, 2.0), +1)
    assert series.at(5_400 * 7 + 1).comoments.n == 1
    assert series.at(5_400 * 7).comoments.n == 0
    with pytest.raises(ValueError, match="grid"):
        series.add(60, point(1.0, 2.0), +1)
    with pytest.raises(ValueError, match="divide a day"):
        Rollup(7)
