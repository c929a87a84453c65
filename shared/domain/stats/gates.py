"""The minimum-data gate before any p-value or interval is shown, by metric type.

Amplitude Experiment (seed 002): "Amplitude will not generate p values or confidence
intervals for experiments using binary metrics (unique conversions) until each variant has
100 users and 25 conversions. Experiments using non-binary metrics need only to reach 100
users per variant." Below that, a normal approximation to the difference of proportions is
poor (the usual rule of thumb asks for n p and n (1 - p) of at least 5 to 10 per arm), and
early looks are the ones most often misread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

MIN_ENTITIES = 100
MIN_CONVERSIONS = 25


@dataclass(frozen=True, slots=True)
class Gate:
    """Whether every variation has enough data; ``message`` says which lacks what."""

    passed: bool
    message: str


def data_gate(
    arms: Mapping[str, tuple[int, int]],
    binary: bool,
    min_entities: int = MIN_ENTITIES,
    min_conversions: int = MIN_CONVERSIONS,
) -> Gate:
    """``arms``: variation -> (entities, conversions); conversions are read only when
    ``binary``. Fails when any variation is short, naming each one and its shortfall."""
    short: list[str] = []
    for name, (entities, conversions) in arms.items():
        lacks: list[str] = []
        if entities < min_entities:
            lacks.append(f"{entities} entities of the {min_entities} needed")
        if binary and conversions < min_conversions:
            lacks.append(f"{conversions} conversions of the {min_conversions} needed")
        if lacks:
            short.append(f"variation {name!r} has " + " and ".join(lacks))
    if not arms:
        return Gate(False, "no variations to analyse")
    if short:
        return Gate(
            False,
            "; ".join(short)
            + ": no p-value or interval until every variation has "
            + _threshold(binary, min_entities, min_conversions),
        )
    return Gate(True, "every variation has " + _threshold(binary, min_entities, min_conversions))


def _threshold(binary: bool, min_entities: int, min_conversions: int) -> str:
    if binary:
        return f"at least {min_entities} entities and {min_conversions} conversions"
    return f"at least {min_entities} entities"
