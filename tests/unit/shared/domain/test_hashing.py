"""The assignment hash: documented vectors, an independent MurmurHash3, and split quality.

Entity populations are fixed (``user-0`` .. ``user-99999``), so the
statistical tests are deterministic: they pass or fail the same way forever.
Each asserts p > 0.001 as the brief for the hash sets.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter

import pytest
from scipy.stats import chi2_contingency, chisquare

from shared.domain import hashing
from shared.domain.hashing import BUCKETS, SAMPLE, SPLIT, bucket, pick, scale_weights

N = 100_000
ENTITIES = [f"user-{i}" for i in range(N)]
ALPHA = 0.001


def murmur3_x86_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3_x86_32 from Appleby's reference C (smhasher), written out here."""
    c1, c2, mask = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF

    def rotl(x: int, r: int) -> int:
        return ((x << r) | (x >> (32 - r))) & mask

    h = seed
    tail_start = len(data) - len(data) % 4
    for i in range(0, tail_start, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = rotl((k * c1) & mask, 15) * c2 & mask
        h = (rotl(h ^ k, 13) * 5 + 0xE6546B64) & mask
    k = int.from_bytes(data[tail_start:], "little")
    if len(data) % 4:
        h ^= rotl((k * c1) & mask, 15) * c2 & mask
    h ^= len(data)
    h = ((h ^ (h >> 16)) * 0x85EBCA6B) & mask
    h = ((h ^ (h >> 13)) * 0xC2B2AE35) & mask
    return h ^ (h >> 16)


VECTORS = [
    (SAMPLE, "exp-1", "user-1", 0x8868FAA3, 81283),
    (SPLIT, "exp-1", "user-1", 0xA928B40B, 17035),
    (SPLIT, "Zo\u00eb's test", "\u00e9", 0xF01A3E5A, 51738),
]


@pytest.mark.parametrize(("purpose", "salt", "entity", "h", "expected"), VECTORS)
def test_documented_vectors(purpose: str, salt: str, entity: str, h: int, expected: int) -> None:
    key = f"{purpose}:{salt}:{entity}".encode()
    assert murmur3_x86_32(key) == h
    assert h % BUCKETS == expected
    assert bucket(salt, entity, purpose) == expected


def test_docstring_states_the_vectors() -> None:
    doc = hashing.__doc__ or ""
    stated = re.findall(r'"(\w+)",\s+"([^"]*)",\s+"([^"]*)"\s+-> 0x([0-9a-f]{8}) -> (\d+)', doc)
    assert [(p, s, e, int(h, 16), int(b)) for p, s, e, h, b in stated] == VECTORS


@pytest.mark.parametrize(
    ("data", "h"),
    [
        (b"", 0),
        (b"hello", 0x248BFA47),
        (b"The quick brown fox jumps over the lazy dog", 0x2E4FF723),
    ],
)
def test_reference_murmur3_matches_published_values(data: bytes, h: int) -> None:
    assert murmur3_x86_32(data) == h


def test_bucket_agrees_with_the_reference_on_many_keys() -> None:
    for i, entity in enumerate(ENTITIES[:2000]):
        salt = "s" * (i % 7)  # every tail length
        key = f"{SPLIT}:{salt}:{entity}".encode()
        assert bucket(salt, entity, SPLIT) == murmur3_x86_32(key) % BUCKETS


def test_range_and_types() -> None:
    values = [bucket("exp", e, SPLIT) for e in ENTITIES[:5000]]
    assert all(isinstance(v, int) and 0 <= v < BUCKETS for v in values)


def test_purpose_must_not_contain_the_separator() -> None:
    with pytest.raises(ValueError, match="purpose"):
        bucket("salt", "e", "split:x")


def test_lone_surrogates_do_not_fail() -> None:
    assert 0 <= bucket("s", "\ud800", SPLIT) < BUCKETS


def test_deterministic_across_processes() -> None:
    entities = ENTITIES[:1000]
    script = (
        "import sys\n"
        "from shared.domain.hashing import bucket\n"
        "for line in sys.stdin.read().splitlines():\n"
        "    print(bucket('exp-1', line, 'split'))\n"
    )
    for seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", script],
            input="\n".join(entities),
            capture_output=True,
            text=True,
            env=env,
            check=True,
        ).stdout
        assert [int(v) for v in out.split()] == [bucket("exp-1", e, SPLIT) for e in entities]


# --- pick and scale_weights ---------------------------------------------------------


def test_pick_ranges_are_half_open_and_in_order() -> None:
    weights = [("a", 20_000), ("b", 0), ("c", 30_000), ("d", 50_000)]
    assert pick(weights, 0) == "a"
    assert pick(weights, 19_999) == "a"
    assert pick(weights, 20_000) == "c"  # zero weight is never picked
    assert pick(weights, 49_999) == "c"
    assert pick(weights, 50_000) == "d"
    assert pick(weights, 99_999) == "d"
    assert pick(weights, 100_000) is None


def test_pick_past_the_sum_is_unassigned() -> None:
    weights = [("a", 10_000), ("b", 10_000)]
    assert pick(weights, 19_999) == "b"
    assert pick(weights, 20_000) is None
    assert pick([], 0) is None
    assert pick(weights, -1) is None


def test_pick_rejects_negative_weights() -> None:
    with pytest.raises(ValueError, match="negative"):
        pick([("a", -1), ("b", 5)], 3)


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ([("a", 1), ("b", 1)], [("a", 50_000), ("b", 50_000)]),
        ([("a", 1), ("b", 1), ("c", 1)], [("a", 33_334), ("b", 33_333), ("c", 33_333)]),
        ([("a", 2), ("b", 1)], [("a", 66_667), ("b", 33_333)]),
        ([("a", 1), ("b", 2)], [("a", 33_333), ("b", 66_667)]),
        ([("a", 20), ("b", 30), ("c", 50)], [("a", 20_000), ("b", 30_000), ("c", 50_000)]),
        ([("a", 0), ("b", 3)], [("a", 0), ("b", 100_000)]),
        ([("a", 0), ("b", 0)], [("a", 0), ("b", 0)]),
        ([("a", 60_000), ("b", 40_000)], [("a", 60_000), ("b", 40_000)]),
        ([("a", 100_000), ("b", 100_000)], [("a", 50_000), ("b", 50_000)]),
        ([], []),
    ],
)
def test_scale_weights(weights: list[tuple[str, int]], expected: list[tuple[str, int]]) -> None:
    assert list(scale_weights(weights)) == expected


def test_scale_weights_sums_exactly_and_keeps_zeros() -> None:
    for n in range(1, 12):
        weights = [(str(i), (i * 7919) % 13) for i in range(n)]
        scaled = scale_weights(weights)
        if sum(w for _, w in weights):
            assert sum(w for _, w in scaled) == BUCKETS
        for (_, w), (_, s) in zip(weights, scaled, strict=True):
            assert (w == 0) == (s == 0) or sum(w for _, w in weights) == 0


def test_all_zero_weights_assign_nobody() -> None:
    scaled = scale_weights([("a", 0), ("b", 0)])
    assert all(pick(scaled, p) is None for p in (0, 50_000, 99_999))


def test_scale_weights_rejects_negative_weights() -> None:
    with pytest.raises(ValueError, match="negative"):
        scale_weights([("a", -1), ("b", 2)])


# --- statistical quality ------------------------------------------------------------


def split_counts(salt: str, weights: list[tuple[str, int]]) -> Counter[str | None]:
    return Counter(pick(weights, bucket(salt, e, SPLIT)) for e in ENTITIES)


@pytest.mark.parametrize(
    "weights",
    [
        [("control", 50_000), ("treatment", 50_000)],
        [("a", 20_000), ("b", 30_000), ("c", 50_000)],
    ],
)
def test_split_fidelity(weights: list[tuple[str, int]]) -> None:
    counts = split_counts("exp-fidelity", weights)
    assert None not in counts
    observed = [counts[name] for name, _ in weights]
    expected = [N * w / BUCKETS for _, w in weights]
    assert chisquare(observed, expected).pvalue > ALPHA


def test_buckets_are_uniform_in_deciles() -> None:
    deciles = Counter(bucket("exp-uniform", e, SPLIT) // 10_000 for e in ENTITIES)
    assert chisquare([deciles[d] for d in range(10)]).pvalue > ALPHA


def test_sample_and_split_are_independent() -> None:
    salt, rate = "exp-independence", 30_000
    weights = [("a", 20_000), ("b", 30_000), ("c", 50_000)]
    table = Counter(
        (bucket(salt, e, SAMPLE) < rate, pick(weights, bucket(salt, e, SPLIT))) for e in ENTITIES
    )
    rows = [[table[(inside, name)] for name, _ in weights] for inside in (True, False)]
    assert chi2_contingency(rows).pvalue > ALPHA


def test_raising_the_sampling_rate_keeps_everyone_in_their_treatment() -> None:
    salt = "exp-stability"
    weights = [("a", 50_000), ("b", 50_000)]

    def assignments(rate: int) -> dict[str, str | None]:
        return {
            e: pick(weights, bucket(salt, e, SPLIT))
            for e in ENTITIES
            if bucket(salt, e, SAMPLE) < rate
        }

    before, after = assignments(10_000), assignments(20_000)
    assert 9_000 < len(before) < 11_000
    assert 19_000 < len(after) < 21_000
    assert all(after[e] == treatment for e, treatment in before.items())


def test_different_salts_give_unrelated_assignments() -> None:
    weights = [("a", 50_000), ("b", 50_000)]
    table = Counter(
        (pick(weights, bucket("exp-x", e, SPLIT)), pick(weights, bucket("exp-y", e, SPLIT)))
        for e in ENTITIES
    )
    rows = [[table[(x, y)] for y in ("a", "b")] for x in ("a", "b")]
    assert chi2_contingency(rows).pvalue > ALPHA
